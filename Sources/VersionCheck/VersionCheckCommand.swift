import DeployVerifyKit
import Foundation
import InfoEndpoint
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `versioncheck`: the command, from arguments to exit status.
package enum VersionCheckCommand {
    package static let help = """
    usage: versioncheck --expect VERSION [options] URL...
           versioncheck watch | history | status | serve | state init …   (see versioncheck watch --help)

    Confirms the version that each URL reports: reads its JSON body (InfoEndpoint's /info, Spring
    Boot Actuator's /actuator/info, Kubernetes' /version, health+json), compares the version with
    --expect, and exits with a status a deployment pipeline can act on.

    expectation (--expect, -e):
      1.4.2                 exactly this version (a leading v is ignored on both sides)
      >=1.4.0 <2.0.0        a SemVer range; also ^1.4, ~1.4.2, 1.4.x, 1.2.0 - 1.4.9, ^1 || ^2
      prefix:2026.11.       versions that start with the text after prefix:
      regex:^1\\.4\\.\\d+$     versions in which the regular expression finds a match
      without --expect, versioncheck reports the versions and judges nothing

    reading:
      -f, --field PATH          JSON path of the version: build.version, items[0].v, ["a.b"].c
                                (default: the first of version, build.version, gitVersion,
                                releaseId, app.version; a JSON number counts as its text)
          --revision SHA        also require revision (or git.commit.id, gitCommit) to match SHA
                                by prefix, 7 or more characters
      -H, --header 'Name: v'    send a header; repeatable; ${NAME} is read from the environment.
                                Values of Authorization, Cookie and headers named with token, key
                                or secret are shown as *** in all output
          --from-file FILE      read URLs from FILE too, one per line (- reads standard input)

    waiting and sampling:
      -w, --wait DURATION       poll until every URL matches, or DURATION has passed
          --interval DURATION   time between polls (default 2s)
      -n, --samples N           read each URL N times over fresh connections and report the mix
                                ("7× 1.4.2, 3× 1.4.1"); a URL passes only when all N match

    limits:
      -t, --timeout DURATION    per URL, redirects included (default 5s)
          --connect-timeout D   to connect, within the timeout (default 2s)
          --deadline DURATION   for the whole run (without --wait)
      -c, --concurrency N       URLs read at the same time (default 64)
          --max-body SIZE       largest body read (default 1MiB)
          --max-redirects N     redirects followed (default 5)
          --cacert FILE         trust the certificate authorities in this PEM file for https

    notifying (channels defined in a versioncheck watch manifest):
          --notify CHANNEL      send the result (pass or fail) to the manifest's channel; repeatable.
                                A delivery that fails is reported on standard error; the exit
                                status stays the check's
      -m, --manifest FILE       the manifest that defines the channels

    output:
          --format table|json   (default table)
      -q, --quiet               print nothing; the exit status tells
          --no-color            no colour (colour is used only on a terminal, never with NO_COLOR)
      -h, --help, --version

    Durations: 500ms, 5s, 2m, 1h, 1m30s. Progress of --wait goes to standard error.

    exit status:
      0  every URL reports the expected version (without --expect: every URL was read)
      1  a reachable URL reports another version or revision
      2  bad usage or input; the message names the flag
      3  a URL could not be read (refused, dns, timeout, tls, reset, http-error, not-json,
         no-version …) and none reported another version; also when interrupted
    """

    /// Runs the command and returns the exit status.
    package static func main(_ arguments: [String], environment: [String: String]) async -> Int32 {
        var arguments = arguments
        if arguments.isEmpty, environment[LambdaRuntime.endpointVariable] != nil {
            // Lambda runs `bootstrap` without arguments: the function's configuration gives them.
            guard let line = environment["VERSIONCHECK_ARGS"], !line.trimmed.isEmpty else {
                return await LambdaRuntime.reportInitError(UsageError(
                    "set VERSIONCHECK_ARGS to the command line, e.g. 'watch --once --manifest s3://BUCKET/fleet.yaml --state dynamodb://TABLE'"),
                    environment: environment)
            }
            arguments = line.split(whereSeparator: \.isWhitespace).map(String.init)
        }
        if let command = arguments.first, ["watch", "history", "status", "state", "serve"].contains(command) {
            return await WatchCommand.main(command, Array(arguments.dropFirst()), environment: environment)
        }
        let console = Console()
        let action: VersionCheckOptions.Action
        do {
            action = try VersionCheckOptions.parse(arguments, environment: environment, readText: readText)
        } catch {
            console.error("versioncheck: \(error.description)")
            console.error("run 'versioncheck --help' for usage")
            return 2
        }
        let options: VersionCheckOptions
        switch action {
        case .help:
            console.line(help)
            return 0
        case .version:
            console.line(DeployVerifyVersion.describe(tool: "versioncheck"))
            return 0
        case .run(let parsed):
            options = parsed
        }

        var manifest: Manifest?
        if let path = options.manifest {
            do {
                let loaded = try Manifest.load(path: path, environment: environment, requireServices: false)
                for name in options.notify where loaded.channels[name] == nil {
                    let known = loaded.channelNames.isEmpty ? "it defines none" : "channels: " + loaded.channelNames.joined(separator: ", ")
                    console.error("versioncheck: --notify: no channel '\(name)' in \(path) (\(known))")
                    return 2
                }
                manifest = loaded
            } catch {
                console.error("versioncheck: \(error.description)")
                return 2
            }
        }

        let runner: VersionCheckRunner
        do {
            runner = try VersionCheckRunner(options: options)
        } catch {
            console.error("versioncheck: cannot start: \(error)")
            return 3
        }
        let terminal = Terminal.detect(environment: environment, noColorFlag: options.noColor)
        let output = VersionCheckOutput(terminal: terminal, redactor: options.redactor, showRevision: options.revision != nil)
        let progressOnTerminal = isatty(STDERR_FILENO) == 1
        let lastProgress = Locked<String?>(nil)
        let started = ContinuousClock.now
        let progress: @Sendable (VersionCheckReport) -> Void = { report in
            guard !options.quiet else { return }
            let remaining = options.wait.map { started + $0 - .now }
            let line = output.progress(report, remaining: remaining)
            if progressOnTerminal {
                FileHandle.standardError.write(Data("\r\u{1B}[K\(line)".utf8))
                lastProgress.withLock { $0 = line }
            } else {
                // Off a terminal, one line per change of the picture, not per poll.
                let summary = report.summary(progress: true)
                let changed = lastProgress.withLock { last -> Bool in
                    defer { last = summary }
                    return last != summary
                }
                if changed { console.error("[\(VersionCheckOutput.format(report.elapsed))] \(line)") }
            }
        }

        let signals = StopSignals()
        let run = Task { await runner.run(progress: progress) }
        let watcher = Task {
            _ = await signals.wait()
            run.cancel()
        }
        let report = await run.value
        watcher.cancel()
        if progressOnTerminal, lastProgress.current != nil { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }

        if !options.quiet {
            switch options.format {
            case .table:
                for line in output.table(report) { console.line(line) }
            case .json:
                console.line(output.json(report))
            }
        }
        if let manifest, !report.interrupted {
            let alert = CheckNotice.alert(for: report, manifest: manifest)
            let failures = await CheckNotice.send(alert, to: options.notify, manifest: manifest, within: .seconds(30))
            for failure in failures { console.error("versioncheck: notifying \(options.redactor.redact(failure))") }
        }
        return report.exitCode
    }

    private static func readText(_ path: String) throws -> String {
        if path == "-" {
            return String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
        }
        return try String(contentsOfFile: path, encoding: .utf8)
    }
}
