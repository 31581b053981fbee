/// Writes HTTP/1.1 responses into a byte buffer. The server owns `Content-Length`,
/// `Connection` and `Date`; the same headers coming from a handler are dropped.
struct ResponseEncoder {
    private var dateSecond = -1
    private var dateLine: [UInt8] = []

    mutating func encode(_ response: InfoResponse, head: Bool, keepAlive: Bool, http10: Bool,
                         epochSecond: Int, into buffer: inout [UInt8]) {
        if epochSecond != dateSecond {
            dateSecond = epochSecond
            dateLine = Array("Date: \(Timestamps.httpDate(epochSeconds: epochSecond))\r\n".utf8)
        }
        buffer.append(contentsOf: Self.statusLine(response.status))
        for (name, value) in response.headers where !Self.isReserved(name) {
            buffer.append(contentsOf: name.utf8)
            buffer.append(58) // :
            buffer.append(32)
            buffer.append(contentsOf: value.utf8)
            buffer.append(13)
            buffer.append(10)
        }
        let bodyAllowed = response.status >= 200 && response.status != 204 && response.status != 304
        if bodyAllowed {
            buffer.append(contentsOf: Self.contentLengthPrefix)
            Self.appendDecimal(response.body.count, to: &buffer)
            buffer.append(13)
            buffer.append(10)
        }
        if !keepAlive {
            buffer.append(contentsOf: Self.connectionClose)
        } else if http10 {
            buffer.append(contentsOf: Self.connectionKeepAlive)
        }
        buffer.append(contentsOf: dateLine)
        buffer.append(13)
        buffer.append(10)
        if bodyAllowed && !head {
            buffer.append(contentsOf: response.body)
        }
    }

    /// A bare status response for protocol errors, always closing the connection.
    mutating func encodeError(status: Int, reason: String, epochSecond: Int, into buffer: inout [UInt8]) {
        let response = InfoResponse(status: status, contentType: "text/plain; charset=utf-8",
                                    body: "\(Self.reasonPhrase(status).lowercased()): \(reason)\n")
        encode(response, head: false, keepAlive: false, http10: false, epochSecond: epochSecond, into: &buffer)
    }

    static let continueLine = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)
    private static let contentLengthPrefix = Array("Content-Length: ".utf8)
    private static let connectionClose = Array("Connection: close\r\n".utf8)
    private static let connectionKeepAlive = Array("Connection: keep-alive\r\n".utf8)

    private static func isReserved(_ name: String) -> Bool {
        switch name.utf8.count {
        case 4: return name.caseInsensitiveEquals("date")
        case 10: return name.caseInsensitiveEquals("connection")
        case 14: return name.caseInsensitiveEquals("content-length")
        case 17: return name.caseInsensitiveEquals("transfer-encoding")
        default: return false
        }
    }

    private static let commonStatusLines: [Int: [UInt8]] = {
        var lines: [Int: [UInt8]] = [:]
        for status in [200, 400, 401, 404, 405, 408, 411, 413, 431, 500, 503, 505] {
            lines[status] = Array("HTTP/1.1 \(status) \(reasonPhrase(status))\r\n".utf8)
        }
        return lines
    }()

    private static func statusLine(_ status: Int) -> [UInt8] {
        commonStatusLines[status] ?? Array("HTTP/1.1 \(status) \(reasonPhrase(status))\r\n".utf8)
    }

    static func reasonPhrase(_ status: Int) -> String {
        switch status {
        case 100: "Continue"
        case 200: "OK"
        case 201: "Created"
        case 202: "Accepted"
        case 204: "No Content"
        case 301: "Moved Permanently"
        case 302: "Found"
        case 304: "Not Modified"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 408: "Request Timeout"
        case 409: "Conflict"
        case 411: "Length Required"
        case 413: "Content Too Large"
        case 414: "URI Too Long"
        case 415: "Unsupported Media Type"
        case 422: "Unprocessable Content"
        case 429: "Too Many Requests"
        case 431: "Request Header Fields Too Large"
        case 500: "Internal Server Error"
        case 501: "Not Implemented"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        case 504: "Gateway Timeout"
        case 505: "HTTP Version Not Supported"
        default: "Status \(status)"
        }
    }

    private static func appendDecimal(_ value: Int, to buffer: inout [UInt8]) {
        if value < 10 {
            buffer.append(UInt8(48 + value))
            return
        }
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        var rest = value
        withUnsafeMutableBytes(of: &digits) { digits in
            while rest > 0 {
                digits[count] = UInt8(48 + rest % 10)
                rest /= 10
                count += 1
            }
            for index in stride(from: count - 1, through: 0, by: -1) { buffer.append(digits[index]) }
        }
    }
}
