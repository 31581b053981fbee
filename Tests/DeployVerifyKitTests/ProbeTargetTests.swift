import Foundation
import Testing
@testable import DeployVerifyKit

@Suite("ProbeTarget: URL parsing")
struct ProbeTargetTests {
    /// The fast path must read every URL it accepts exactly as Foundation's parser does.
    @Test func theFastPathAgreesWithFoundation() throws {
        let urls = [
            "http://127.0.0.1:8080/info", "http://checkout-1.internal:9090/info", "https://payments.example.com/actuator/info",
            "HTTP://Example.COM/Info", "http://example.com", "http://example.com?x=1", "http://example.com/a/b?c=d&e=f",
            "http://10.0.0.1/", "https://svc.ns.svc.cluster.local:8443/version", "http://host:1/", "http://host:65535/p",
            "http://a-b.c_d.e/x;y=z", "http://h/path/with/~tilde/and!bang$and'quote()*+,;=", "http://h/?a=b/c?d",
        ]
        for url in urls {
            let fast = try #require(ProbeTarget.parseSimple(url), "\(url) takes the fast path")
            guard case .success(let slow) = ProbeTarget.parseWithFoundation(url) else {
                Issue.record("Foundation rejects \(url)")
                continue
            }
            #expect(fast.isSecure == slow.isSecure, "\(url)")
            #expect(fast.host.lowercased() == slow.host.lowercased(), "\(url)")
            #expect(fast.port == slow.port, "\(url)")
            #expect(fast.requestTarget == slow.requestTarget, "\(url)")
            #expect(fast.basicAuthorization == nil)
            #expect(fast.url != nil, "\(url) can still be handed to URL-based transports")
        }
    }

    @Test func anythingUnusualGoesToFoundation() {
        for url in [
            "http://user:pass@host/", "http://[::1]:8080/info", "http://host/a%20b", "http://host/#frag", "http://host:/x",
            "http://host:99999/", "http://hóst/", "http://host/ä", "http://host/a b", "ftp://host/", "http:/host", "http://",
            "http://host/{x}", "http://host:80x/",
        ] {
            #expect(ProbeTarget.parseSimple(url) == nil, "\(url)")
        }
        // … which handles them as before.
        guard case .success(let credentials) = ProbeTarget.parse("http://user:pass@host:81/p") else {
            Issue.record("credentials")
            return
        }
        #expect(credentials.basicAuthorization == "Basic dXNlcjpwYXNz")
        #expect(credentials.port == 81)
        guard case .success(let ipv6) = ProbeTarget.parse("http://[::1]:8080/info") else {
            Issue.record("IPv6")
            return
        }
        #expect(ipv6.host == "::1")
        if case .success = ProbeTarget.parse("ftp://host/") { Issue.record("ftp accepted") }
    }
}
