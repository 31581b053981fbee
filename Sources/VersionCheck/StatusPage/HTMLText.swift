import Foundation

/// Builds HTML (and the SVG inside it) as text. Everything that comes from data goes through
/// ``text(_:)`` or ``attribute(_:_:)``, which escape `& < > " '`: a service named
/// `<script>alert(1)</script>` is shown as those characters, never run.
package struct HTMLText {
    package private(set) var text = ""

    package init(capacity: Int = 1 << 16) {
        text.reserveCapacity(capacity)
    }

    /// Markup written by this package's own code (never data).
    package mutating func raw(_ markup: String) {
        text += markup
    }

    /// Data as element content.
    package mutating func text(_ value: String) {
        Self.escape(value, into: &text)
    }

    /// ` name="value"`, the value escaped.
    package mutating func attribute(_ name: String, _ value: String) {
        text += " "
        text += name
        text += "=\""
        Self.escape(value, into: &text)
        text += "\""
    }

    /// A number for SVG coordinates: at most one decimal, no trailing `.0`.
    package mutating func number(_ value: Double) {
        text += Self.format(value)
    }

    /// `<tag attributes>escaped text</tag>`.
    package mutating func element(_ tag: String, _ attributes: [(String, String)] = [], text value: String) {
        text += "<" + tag
        for (name, attributeValue) in attributes { attribute(name, attributeValue) }
        text += ">"
        Self.escape(value, into: &text)
        text += "</" + tag + ">"
    }

    /// Escapes `& < > " '` (the five that matter in content and in quoted attributes).
    package static func escape(_ value: String, into output: inout String) {
        let bytes = value.utf8
        guard bytes.contains(where: { $0 == 0x26 || $0 == 0x3C || $0 == 0x3E || $0 == 0x22 || $0 == 0x27 }) else {
            output += value
            return
        }
        for character in value.unicodeScalars {
            switch character {
            case "&": output += "&amp;"
            case "<": output += "&lt;"
            case ">": output += "&gt;"
            case "\"": output += "&quot;"
            case "'": output += "&#39;"
            default: output.unicodeScalars.append(character)
            }
        }
    }

    package static func escape(_ value: String) -> String {
        var output = ""
        escape(value, into: &output)
        return output
    }

    /// `12`, `12.5`, `-3.2`: one decimal at most.
    package static func format(_ value: Double) -> String {
        guard value.isFinite else { return "0" }
        let tenths = Int((value * 10).rounded())
        if tenths % 10 == 0 { return String(tenths / 10) }
        let sign = tenths < 0 ? "-" : ""
        let magnitude = abs(tenths)
        return "\(sign)\(magnitude / 10).\(magnitude % 10)"
    }
}
