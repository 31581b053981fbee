// Host process for bench/info-server.sh: a process that has done everything a service does
// before it starts InfoServer, so the script can read its RSS before and after serving load.
// Protocol on stdin/stdout: prints "baseline <pid>", waits for a line "start", starts the
// server, prints "listening <port>", then runs until stdin closes.
import Foundation
import InfoEndpoint

let port = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 0 : 0
let info = ServiceInfo(name: "checkout", version: "1.4.2", revision: "0123456789abcdef0123456789abcdef01234567",
                       branch: "main", environment: "production", instance: "bench-host")
let server = InfoServer(info: info, host: "127.0.0.1", port: port)

func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

say("baseline \(ProcessInfo.processInfo.processIdentifier)")
while let line = readLine() {
    if line == "start" {
        do {
            try server.start()
        } catch {
            FileHandle.standardError.write(Data("InfoServerHost: \(error)\n".utf8))
            exit(1)
        }
        say("listening \(server.port)")
    }
}
await server.stop(gracePeriod: .seconds(1))
