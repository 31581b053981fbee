import Foundation

/// One shared AWS `config` or `credentials` file, parsed the way the AWS SDKs and CLI read it:
/// `[section]` headers, `key = value` settings (`key: value` too, as the CLI accepts), full-line
/// comments starting with `#` or `;`, comments after a value when a space or tab comes before
/// the `#` or `;`, values continued on more-indented lines, and nested settings:
///
///     [profile local]
///     s3 =
///       addressing_style = path
///
/// Setting names are lower-cased; section and profile names keep their case. A section or a
/// setting given twice is merged, the later value winning.
package struct AWSINIFile: Sendable, Equatable {
    /// The settings of one section.
    package struct Section: Sendable, Equatable {
        package var settings: [String: String] = [:]
        /// Nested settings: `s3 =` followed by indented `key = value` lines.
        package var nested: [String: [String: String]] = [:]

        package init(settings: [String: String] = [:], nested: [String: [String: String]] = [:]) {
            self.settings = settings
            self.nested = nested
        }

        /// The setting's value, nil when absent or empty.
        package func value(_ key: String) -> String? {
            guard let value = settings[key], !value.isEmpty else { return nil }
            return value
        }
    }

    /// By the text between the brackets, trimmed, runs of whitespace as one space:
    /// `default`, `profile ci`, `services local`.
    package var sections: [String: Section] = [:]

    package init(sections: [String: Section] = [:]) {
        self.sections = sections
    }

    /// Parses a file's text. `file` names it in errors (`~/.aws/config`); no error repeats the
    /// text of a line, which may hold a secret.
    package static func parse(_ text: String, file: String) throws(AWSConfigFileError) -> AWSINIFile {
        var parsed = AWSINIFile()
        var section: String?
        // The setting that indented lines continue, and how far its own line was indented.
        var open: (key: String, indent: Int, nested: Bool)?
        // `\r\n` is one Character: splitting on newlines takes it, `\n` and `\r` alike.
        for (index, line) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let lineNumber = index + 1
            let indent = line.prefix { $0 == " " || $0 == "\t" }.count
            let content = line.dropFirst(indent)
            if content.allSatisfy(\.isWhitespace) { continue }
            if content.first == "#" || content.first == ";" { continue }
            func failure(_ reason: String) -> AWSConfigFileError {
                AWSConfigFileError(file: file, line: lineNumber, reason: reason)
            }

            if let current = open, let name = section, indent > current.indent {
                let value = withoutTrailingComment(content).trimmed
                if current.nested || parsed.sections[name]?.settings[current.key]?.isEmpty == true {
                    open?.nested = true
                    // A nested `key = value`; anything else there is skipped, as the SDKs skip it.
                    guard let equals = value.firstIndex(of: "=") else { continue }
                    let key = value[..<equals].trimmed.lowercased()
                    guard !key.isEmpty else { continue }
                    parsed.sections[name, default: Section()].nested[current.key, default: [:]][key] =
                        value[value.index(after: equals)...].trimmed
                } else {
                    parsed.sections[name, default: Section()].settings[current.key, default: ""] += "\n" + value
                }
                continue
            }

            if content.first == "[" {
                guard let close = content.firstIndex(of: "]") else {
                    throw failure("a section header without ']'")
                }
                let rest = content[content.index(after: close)...].trimmed
                guard rest.isEmpty || rest.first == "#" || rest.first == ";" else {
                    throw failure("unexpected text after the section header")
                }
                let name = content[content.index(after: content.startIndex)..<close]
                    .split(whereSeparator: \.isWhitespace).joined(separator: " ")
                guard !name.isEmpty else { throw failure("an empty section name") }
                section = name
                if parsed.sections[name] == nil { parsed.sections[name] = Section() }
                open = nil
                continue
            }

            guard let name = section else {
                throw failure("a setting before any [section]")
            }
            guard let delimiter = content.firstIndex(where: { $0 == "=" || $0 == ":" }) else {
                throw failure("expected 'name = value', a [section] or a comment")
            }
            let key = content[..<delimiter].trimmed.lowercased()
            guard !key.isEmpty else { throw failure("a setting without a name") }
            let value = withoutTrailingComment(content[content.index(after: delimiter)...]).trimmed
            parsed.sections[name, default: Section()].settings[key] = value
            parsed.sections[name, default: Section()].nested[key] = nil
            open = (key, indent, false)
        }
        return parsed
    }

    /// The text before a ` #` or ` ;` (or a tab before them) that starts a comment.
    private static func withoutTrailingComment(_ text: Substring) -> Substring {
        var previous: Character?
        for index in text.indices {
            let character = text[index]
            if character == "#" || character == ";", previous == " " || previous == "\t" {
                return text[..<index]
            }
            previous = character
        }
        return text
    }
}

/// A shared file that cannot be read, or a line in it that cannot be parsed. Never quotes the
/// line (it may hold a secret).
package struct AWSConfigFileError: Error, Sendable, Equatable, CustomStringConvertible {
    /// As shown: `~/.aws/config`.
    package var file: String
    /// 1-based; nil when the file as a whole could not be read.
    package var line: Int?
    package var reason: String

    package var description: String {
        if let line { return "\(file) line \(line): \(reason)" }
        return "\(file): \(reason)"
    }
}

/// One of the two shared files: where it is, and what it holds.
package struct AWSSharedFile: Sendable, Equatable {
    /// The path read; nil when there is none (`HOME` is not set and no variable names the file).
    package var path: String?
    /// For messages: the path with the home directory as `~` (`~/.aws/credentials`).
    package var displayName: String
    /// nil when the file does not exist.
    package var contents: AWSINIFile?

    package init(path: String?, displayName: String, contents: AWSINIFile?) {
        self.path = path
        self.displayName = displayName
        self.contents = contents
    }
}

/// The shared `credentials` and `config` files of the AWS SDKs and CLI, and the profile to use:
/// `AWS_SHARED_CREDENTIALS_FILE` (default `~/.aws/credentials`), `AWS_CONFIG_FILE` (default
/// `~/.aws/config`), `AWS_PROFILE` (default `default`). In the credentials file a profile is
/// `[NAME]`; in the config file it is `[profile NAME]`, and `[default]` for the default one.
package struct AWSConfigFiles: Sendable, Equatable {
    package var credentials: AWSSharedFile
    package var config: AWSSharedFile
    /// `AWS_PROFILE`, or `default`.
    package var profileName: String
    /// The profile was named by `AWS_PROFILE`: then it must exist (a missing `default` is fine).
    package var profileIsExplicit: Bool

    /// From texts already read (nil: the file does not exist). Pure: for tests and for ``load(environment:)``.
    package init(environment: [String: String], credentialsText: String?, configText: String?) throws(AWSConfigFileError) {
        let paths = Self.paths(environment: environment)
        credentials = AWSSharedFile(path: paths.credentials, displayName: paths.credentialsDisplay,
                                    contents: try credentialsText.map { text throws(AWSConfigFileError) in
                                        try AWSINIFile.parse(text, file: paths.credentialsDisplay)
                                    })
        config = AWSSharedFile(path: paths.config, displayName: paths.configDisplay,
                               contents: try configText.map { text throws(AWSConfigFileError) in
                                   try AWSINIFile.parse(text, file: paths.configDisplay)
                               })
        let named = environment["AWS_PROFILE"]?.trimmed ?? ""
        profileName = named.isEmpty ? "default" : named
        profileIsExplicit = !named.isEmpty
    }

    /// Reads both files (a missing file is not an error; one that exists but cannot be read is).
    package static func load(environment: [String: String]) throws(AWSConfigFileError) -> AWSConfigFiles {
        let paths = paths(environment: environment)
        return try AWSConfigFiles(environment: environment,
                                  credentialsText: try read(paths.credentials, display: paths.credentialsDisplay),
                                  configText: try read(paths.config, display: paths.configDisplay))
    }

    /// The settings of a profile in the credentials file (`[NAME]`).
    package func credentialsProfile(_ name: String) -> AWSINIFile.Section? {
        credentials.contents?.sections[name]
    }

    /// The settings of a profile in the config file: `[profile NAME]`; for `default`,
    /// `[profile default]` over `[default]`.
    package func configProfile(_ name: String) -> AWSINIFile.Section? {
        guard let sections = config.contents?.sections else { return nil }
        if name == "default" {
            switch (sections["default"], sections["profile default"]) {
            case (nil, nil): return nil
            case (let plain?, nil): return plain
            case (nil, let prefixed?): return prefixed
            case (let plain?, let prefixed?):
                return AWSINIFile.Section(settings: plain.settings.merging(prefixed.settings) { _, new in new },
                                          nested: plain.nested.merging(prefixed.nested) { _, new in new })
            }
        }
        return sections["profile " + name]
    }

    /// A `[services NAME]` section of the config file.
    package func servicesSection(_ name: String) -> AWSINIFile.Section? {
        config.contents?.sections["services " + name]
    }

    /// "~/.aws/credentials or ~/.aws/config", for messages.
    package var bothDisplayNames: String {
        "\(credentials.displayName) or \(config.displayName)"
    }

    static func paths(environment: [String: String])
        -> (credentials: String?, credentialsDisplay: String, config: String?, configDisplay: String) {
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : ($0.hasSuffix("/") && $0.count > 1 ? String($0.dropLast()) : $0) }
        func resolve(_ variable: String, default relative: String) -> (String?, String) {
            var path: String?
            if let given = environment[variable]?.trimmed, !given.isEmpty {
                if given == "~" || given.hasPrefix("~/") {
                    path = home.map { $0 + given.dropFirst() }
                } else {
                    path = given
                }
                if path == nil { return (nil, given) }
            } else {
                path = home.map { ($0 == "/" ? "" : $0) + "/" + relative }
            }
            guard let path else { return (nil, "~/" + relative) }
            if let home, home != "/", path.hasPrefix(home + "/") { return (path, "~" + path.dropFirst(home.count)) }
            return (path, path)
        }
        let credentials = resolve("AWS_SHARED_CREDENTIALS_FILE", default: ".aws/credentials")
        let config = resolve("AWS_CONFIG_FILE", default: ".aws/config")
        return (credentials.0, credentials.1, config.0, config.1)
    }

    private static func read(_ path: String?, display: String) throws(AWSConfigFileError) -> String? {
        guard let path else { return nil }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return nil }
        guard !isDirectory.boolValue else { throw AWSConfigFileError(file: display, line: nil, reason: "is a directory") }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw AWSConfigFileError(file: display, line: nil, reason: "cannot be read (permissions?)")
        }
        return String(decoding: data, as: UTF8.self)
    }
}
