import DeployVerifyKit
import Foundation
import InfoEndpoint

/// The token an approval link carries: `v1.EXPIRES.MAC`, where MAC is HMAC-SHA256 (base64url)
/// under the approval key of the request's id, the decision, the expiry and the deployment
/// (service, version, build). It is bound to one request and one decision, and expires with the
/// step's timeout; it is single-use because a request takes one decision, recorded in the trail.
package enum ApprovalToken {
    /// Why a token does not open a link.
    package enum Problem: Equatable, Sendable {
        /// Not a token, signed with another key, or for another request or decision.
        case invalid
        case expired(Date)

        package var description: String {
            switch self {
            case .invalid: "the link's token is not valid for this deployment and decision"
            case .expired(let date): "the link expired at \(Timestamps.iso8601(date))"
            }
        }
    }

    /// The token for `decision` on the request (its `requested` record).
    package static func make(key: [UInt8], request: ApprovalRecord, decision: ApprovalDecision) -> String {
        let expires = Int64(request.expires?.timeIntervalSince1970 ?? 0)
        return "v1.\(expires).\(base64URL(mac(key: key, request: request, decision: decision, expires: expires)))"
    }

    /// nil when the token opens the link at `now`.
    package static func check(_ token: String, key: [UInt8], request: ApprovalRecord, decision: ApprovalDecision,
                              now: Date) -> Problem? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "v1", parts[1].count <= 12, let expires = Int64(parts[1]),
              let requestExpires = request.expires, expires == Int64(requestExpires.timeIntervalSince1970),
              let given = decodeBase64URL(parts[2]), given.count == 32 else { return .invalid }
        let expected = mac(key: key, request: request, decision: decision, expires: expires)
        // Constant time: a forger learns nothing from how long the comparison took.
        var difference: UInt8 = 0
        for (a, b) in zip(given, expected) { difference |= a ^ b }
        guard difference == 0 else { return .invalid }
        let expiry = Date(timeIntervalSince1970: TimeInterval(expires))
        return now >= expiry ? .expired(expiry) : nil
    }

    private static func mac(key: [UInt8], request: ApprovalRecord, decision: ApprovalDecision, expires: Int64) -> [UInt8] {
        // Fields separated by a byte no field can hold unescaped in JSON text: no two requests
        // sign the same message.
        let fields = ["hookrunner-approval-v1", request.request, decision.rawValue, String(expires),
                      request.service ?? "", request.version ?? "", request.build ?? ""]
        return HMACSHA256.authenticate(Array(fields.joined(separator: "\u{0}").utf8), key: key)
    }

    static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func decodeBase64URL(_ text: Substring) -> [UInt8]? {
        guard text.count <= 64, text.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else { return nil }
        var standard = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while standard.count % 4 != 0 { standard += "=" }
        return Data(base64Encoded: standard).map(Array.init)
    }
}

/// The key approval tokens are signed with: `--approval-key-file PATH` or
/// `HOOKRUNNER_APPROVAL_KEY`. Never printed; registered with every redactor of the run.
package enum ApprovalKey {
    /// Shorter keys are refused: a token must not be forgeable by guessing the key.
    package static let minimumLength = 16
    package static let environmentVariable = "HOOKRUNNER_APPROVAL_KEY"

    /// The key from the file (surrounding whitespace dropped) or else the environment; nil when
    /// neither is given.
    package static func load(file: String?, environment: [String: String]) throws(UsageError) -> [UInt8]? {
        let text: String
        let source: String
        if let file {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw UsageError("--approval-key-file: cannot read \(file)")
            }
            text = String(decoding: data, as: UTF8.self)
            source = "--approval-key-file \(file)"
        } else if let value = environment[environmentVariable] {
            text = value
            source = environmentVariable
        } else {
            return nil
        }
        let key = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard key.utf8.count >= minimumLength else {
            throw UsageError("\(source): the approval key must be at least \(minimumLength) characters (e.g. `openssl rand -hex 32`)")
        }
        return Array(key.utf8)
    }
}
