import Foundation

/// A CloudWatch alarm as `DescribeAlarms` reports it.
package struct CloudWatchAlarm: Sendable, Equatable {
    package var name: String
    /// `OK`, `ALARM` or `INSUFFICIENT_DATA`.
    package var state: String
    /// Why it is in that state: `Threshold Crossed: 1 datapoint [5.0] was greater than …`.
    package var reason: String
    /// `MetricAlarm` or `CompositeAlarm`.
    package var type: String
    /// When the state last changed (ISO 8601, as AWS wrote it).
    package var stateUpdated: String?

    package init(name: String, state: String, reason: String, type: String, stateUpdated: String?) {
        self.name = name
        self.state = state
        self.reason = reason
        self.type = type
        self.stateUpdated = stateUpdated
    }
}

extension AWSClient {
    /// The named alarms and those whose names start with `prefix`, metric and composite alarms
    /// alike, every page: CloudWatch's `DescribeAlarms` in the query protocol (a form POST, an XML
    /// answer). AWS takes either names (at most 100 a call) or a prefix in one call, so each is
    /// asked separately; an alarm both name and prefix select is listed once.
    package func describeAlarms(names: [String] = [], prefix: String? = nil,
                                timeout: Duration = .seconds(10)) async throws(AWSError) -> [CloudWatchAlarm] {
        var alarms: [CloudWatchAlarm] = []
        var start = 0
        while start < names.count {
            let chunk = names[start..<min(start + 100, names.count)]
            alarms += try await describeAlarmPages(chunk.enumerated().map { ("AlarmNames.member.\($0.offset + 1)", $0.element) },
                                                   timeout: timeout)
            start += 100
        }
        if let prefix {
            for alarm in try await describeAlarmPages([("AlarmNamePrefix", prefix)], timeout: timeout)
            where !alarms.contains(where: { $0.name == alarm.name }) {
                alarms.append(alarm)
            }
        }
        return alarms
    }

    private func describeAlarmPages(_ selection: [(String, String)], timeout: Duration) async throws(AWSError) -> [CloudWatchAlarm] {
        let operation = "CloudWatch DescribeAlarms"
        var alarms: [CloudWatchAlarm] = []
        var token: String?
        var pages = 0
        repeat {
            var form = [("Action", "DescribeAlarms"), ("Version", "2010-08-01")] + selection
                + [("AlarmTypes.member.1", "CompositeAlarm"), ("AlarmTypes.member.2", "MetricAlarm"), ("MaxRecords", "100")]
            if let token { form.append(("NextToken", token)) }
            let body = form.map { Self.formEncoded($0.0) + "=" + Self.formEncoded($0.1) }.joined(separator: "&")
            let response = try await send(.cloudWatch, operation: operation,
                                          headers: [("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")],
                                          body: Array(body.utf8), timeout: timeout)
            let text = String(decoding: response.body, as: UTF8.self)
            guard let result = Self.section("DescribeAlarmsResult", in: text[...]) else {
                throw AWSError(kind: .service, operation: operation, status: response.status,
                               message: "the answer is not a DescribeAlarms result: \(text.prefix(200))")
            }
            for (type, list) in [("MetricAlarm", "MetricAlarms"), ("CompositeAlarm", "CompositeAlarms")] {
                guard let section = Self.section(list, in: result) else { continue }
                for member in Self.topLevelMembers(section) {
                    let text = String(member)
                    guard let name = XMLText.firstElement("AlarmName", in: text) else { continue }
                    alarms.append(CloudWatchAlarm(name: name, state: XMLText.firstElement("StateValue", in: text) ?? "",
                                                  reason: XMLText.firstElement("StateReason", in: text) ?? "", type: type,
                                                  stateUpdated: XMLText.firstElement("StateUpdatedTimestamp", in: text)))
                }
            }
            // No element inside an alarm is called NextToken: the first one is the result's.
            token = XMLText.firstElement("NextToken", in: String(result)).flatMap { $0.isEmpty ? nil : $0 }
            pages += 1
        } while token != nil && pages < 1000
        return alarms
    }

    /// `<name>…</name>`'s content; empty for `<name/>`; nil when absent.
    static func section(_ name: String, in text: Substring) -> Substring? {
        if let open = text.range(of: "<\(name)>") {
            guard let close = text.range(of: "</\(name)>", options: .backwards, range: open.upperBound..<text.endIndex) else { return nil }
            return text[open.upperBound..<close.lowerBound]
        }
        return text.contains("<\(name)/>") ? text[text.endIndex...] : nil
    }

    /// The `<member>` elements directly inside `list`, each with its own nested members.
    static func topLevelMembers(_ list: Substring) -> [Substring] {
        var members: [Substring] = []
        var depth = 0
        var start: Substring.Index?
        var position = list.startIndex
        while position < list.endIndex {
            let open = list.range(of: "<member>", range: position..<list.endIndex)
            let close = list.range(of: "</member>", range: position..<list.endIndex)
            if let open, close.map({ open.lowerBound < $0.lowerBound }) ?? true {
                if depth == 0 { start = open.upperBound }
                depth += 1
                position = open.upperBound
            } else if let close {
                depth -= 1
                if depth == 0, let begin = start { members.append(list[begin..<close.lowerBound]) }
                if depth < 0 { depth = 0 }
                position = close.upperBound
            } else {
                break
            }
        }
        return members
    }

    /// `application/x-www-form-urlencoded` as botocore writes query-protocol bodies: RFC 3986
    /// unreserved characters kept, a space as `+`, the rest `%XX`. (The signature covers the
    /// body's bytes; moto re-encodes the parsed form this way before it checks the signature.)
    static func formEncoded(_ text: String) -> String {
        var result = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: " "):
                result += "+"
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                result.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                result += String(format: "%%%02X", byte)
            }
        }
        return result
    }
}
