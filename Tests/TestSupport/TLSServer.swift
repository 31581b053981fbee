import Foundation

/// An HTTPS server on 127.0.0.1 with a fresh self-signed certificate for `127.0.0.1` and
/// `localhost`, run by python3 (its `ssl` module) with a key made by openssl. `make()` returns
/// nil where either tool is missing, so the tests that need it can say so and skip.
public final class TLSServer: @unchecked Sendable {
    public let port: Int
    /// The certificate, usable as a CA file (it signs itself).
    public let certificatePath: String
    private let process: ChildProcess
    private let directory: URL

    public static func make() async throws -> TLSServer? {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let openssl = ChildProcess(URL(fileURLWithPath: "/usr/bin/env"), [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-keyout", directory.appendingPathComponent("key.pem").path,
            "-out", directory.appendingPathComponent("cert.pem").path,
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ])
        guard (try? await openssl.run()) == 0 else { return nil }
        let script = """
        import http.server, json, ssl, sys
        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            def do_GET(self):
                body = json.dumps({"version": self.path.rsplit("/", 1)[-1]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            def log_message(self, *args):
                pass
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(sys.argv[1], sys.argv[2])
        server.socket = context.wrap_socket(server.socket, server_side=True)
        print("listening", server.server_address[1], flush=True)
        server.serve_forever()
        """
        let process = ChildProcess(URL(fileURLWithPath: "/usr/bin/env"), [
            "python3", "-c", script,
            directory.appendingPathComponent("cert.pem").path, directory.appendingPathComponent("key.pem").path,
        ])
        guard (try? process.start()) != nil else { return nil }
        let line = try await process.waitForLine(containing: "listening")
        guard let port = Int(line.split(separator: " ").last ?? "") else { return nil }
        return TLSServer(port: port, certificatePath: directory.appendingPathComponent("cert.pem").path,
                         process: process, directory: directory)
    }

    private init(port: Int, certificatePath: String, process: ChildProcess, directory: URL) {
        self.port = port
        self.certificatePath = certificatePath
        self.process = process
        self.directory = directory
    }

    public func url(_ path: String) -> String { "https://127.0.0.1:\(port)\(path)" }

    public func stop() {
        process.send(signal: SIGKILL)
        try? FileManager.default.removeItem(at: directory)
    }

    deinit { stop() }
}
