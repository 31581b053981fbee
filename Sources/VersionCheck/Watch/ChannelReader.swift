import DeployVerifyKit
import Foundation

/// Reads a `channels` object: named alert destinations. The watch manifest's channels and the
/// hooks file's (hookrunner's approval requests go to the same kinds of channels) are read by
/// this one reader, so the two files take the same shape.
///
/// `${NAME}` in a value comes from `lookup` (the environment for the manifest, the run's
/// variables for the hooks file). Channel URLs, routing keys and credential headers are secrets:
/// each is registered with ``redactor``.
package struct ChannelReader: JSONFileReading {
    package let file: String
    private let lookup: (String) -> String?
    /// The channel types this file may use.
    private let kinds: [Channel.Kind]
    /// Whether a channel may name `events` (the watcher's event kinds).
    private let allowsEvents: Bool
    /// Ends the message about an undefined variable: where it could be defined.
    private let undefinedHint: String
    /// The secrets read so far.
    package var redactor = Redactor()

    package init(file: String, kinds: [Channel.Kind] = Channel.Kind.allCases, allowsEvents: Bool = true,
                 undefinedHint: String = " in the environment", lookup: @escaping (String) -> String?) {
        self.file = file
        self.kinds = kinds
        self.allowsEvents = allowsEvents
        self.undefinedHint = undefinedHint
        self.lookup = lookup
    }

    /// A string with `${NAME}` expanded; an undefined name is an error.
    /// With `secret`, the value is masked in all output; with `secretURL`, every part of it a
    /// receiver could echo (path, segments, query) is too.
    package mutating func expanded(_ value: JSONValue?, _ path: String, secret: Bool = false, secretURL: Bool = false) throws(JSONFileError) -> String {
        let text = try string(value, path)
        do {
            let result = try EnvironmentExpansion.expand(text, lookup: lookup)
            if secretURL {
                redactor.addURL(result.text)
            } else if secret {
                redactor.add(result.text)
            } else if !result.names.isEmpty {
                // Values that came from variables are masked when their names look like credentials.
                for name in result.names where Redaction.isSensitiveHeader(name) {
                    if let value = lookup(name) { redactor.add(value) }
                }
            }
            return result.text
        } catch {
            throw self.error(path, "\(error.description)\(undefinedHint)")
        }
    }

    /// An object of header values; credential values are secrets.
    package mutating func headers(_ value: JSONValue, _ path: String) throws(JSONFileError) -> [(name: String, value: String)] {
        guard case .object(let object) = value else { throw error(path, "expected an object of header values") }
        var result: [(name: String, value: String)] = []
        for (name, item) in object.members {
            let text = try expanded(item, "\(path).\(name)", secret: Redaction.isSensitiveHeader(name))
            result.append((name, text))
        }
        return result
    }

    /// The whole `channels` object, in file order.
    package mutating func channels(_ value: JSONValue, _ path: String) throws(JSONFileError) -> [Channel] {
        guard case .object(let object) = value else { throw error(path, "expected an object of named channels") }
        var channels: [Channel] = []
        for (name, item) in object.members {
            channels.append(try channel(name, item, join(path, name)))
        }
        return channels
    }

    /// One channel: `{"type": "slack", "url": …}`, `{"type": "command", "command": […]}` ….
    package mutating func channel(_ name: String, _ value: JSONValue, _ path: String) throws(JSONFileError) -> Channel {
        let keys = ["type", "url", "headers", "routingKey", "command"] + (allowsEvents ? ["events"] : [])
        let object = try self.object(value, path, allowed: keys)
        let typeText = try string(object["type"], "\(path).type")
        guard let kind = Channel.Kind(rawValue: typeText), kinds.contains(kind) else {
            let known = Channel.Kind(rawValue: typeText) != nil ? "a \(typeText) channel cannot be used here" : "'\(typeText)' is not a channel type"
            throw error("\(path).type", "\(known) (\(kinds.map(\.rawValue).joined(separator: ", ")))")
        }
        var channel = Channel(name: name, kind: kind)
        switch kind {
        case .command:
            guard case .array(let items)? = object["command"], !items.isEmpty else {
                throw error("\(path).command", "a command channel needs command: [\"program\", \"arg\"…]")
            }
            for (index, item) in items.enumerated() { channel.command.append(try expanded(item, "\(path).command[\(index)]")) }
        case .pagerduty:
            channel.routingKey = try expanded(object["routingKey"], "\(path).routingKey", secret: true)
            if object["url"] != nil { channel.url = try expanded(object["url"], "\(path).url", secretURL: true) }
        default:
            channel.url = try expanded(object["url"], "\(path).url", secretURL: true)
        }
        if let url = channel.url, case .failure = ProbeTarget.parse(url) {
            throw error("\(path).url", "not an http:// or https:// URL")
        }
        if let headers = object["headers"] { channel.headers = try self.headers(headers, "\(path).headers") }
        if let events = object["events"] {
            guard case .array(let items) = events else { throw error("\(path).events", "expected an array of event kinds") }
            var set: Set<String> = []
            for (index, item) in items.enumerated() {
                let kind = try string(item, "\(path).events[\(index)]")
                guard WatchEvent.Kind(rawValue: kind) != nil else {
                    throw error("\(path).events[\(index)]", "'\(kind)' is not an event kind (\(WatchEvent.Kind.allCases.map(\.rawValue).joined(separator: ", ")))")
                }
                set.insert(kind)
            }
            channel.events = set
        }
        return channel
    }
}
