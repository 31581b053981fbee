import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where CLI output goes, and whether it may be coloured or redrawn.
package struct Terminal: Sendable {
    /// Standard output is a terminal (progress lines may be redrawn in place).
    package var isInteractive: Bool
    /// Colour is on: a terminal, `NO_COLOR` unset or empty, `TERM` not `dumb`, not `--no-color`.
    package var colors: Bool

    package init(isInteractive: Bool, colors: Bool) {
        self.isInteractive = isInteractive
        self.colors = colors
    }

    package static func detect(environment: [String: String], noColorFlag: Bool) -> Terminal {
        let interactive = isatty(STDOUT_FILENO) == 1
        let noColor = !(environment["NO_COLOR"] ?? "").isEmpty || environment["TERM"] == "dumb" || noColorFlag
        return Terminal(isInteractive: interactive, colors: interactive && !noColor)
    }

    package func green(_ text: String) -> String { paint(text, "32") }
    package func red(_ text: String) -> String { paint(text, "31") }
    package func yellow(_ text: String) -> String { paint(text, "33") }
    package func bold(_ text: String) -> String { paint(text, "1") }
    package func dim(_ text: String) -> String { paint(text, "2") }

    private func paint(_ text: String, _ code: String) -> String {
        colors ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text
    }
}

/// Writes CLI output unbuffered, so lines appear when they happen (also through pipes).
package struct Console: Sendable {
    package init() {}

    package func out(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }

    package func line(_ text: String = "") {
        out(text + "\n")
    }

    package func error(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }
}

/// Column layout for plain-text tables (width by visible characters, colour codes ignored).
package enum TextTable {
    package static func render(_ rows: [[String]], gap: Int = 2) -> [String] {
        guard let columns = rows.map(\.count).max() else { return [] }
        var widths = [Int](repeating: 0, count: columns)
        for row in rows {
            for (index, cell) in row.enumerated() { widths[index] = max(widths[index], visibleWidth(cell)) }
        }
        return rows.map { row in
            var line = ""
            for (index, cell) in row.enumerated() {
                line += cell
                if index < row.count - 1 {
                    line += String(repeating: " ", count: widths[index] - visibleWidth(cell) + gap)
                }
            }
            return line
        }
    }

    package static func visibleWidth(_ text: String) -> Int {
        var width = 0
        var inEscape = false
        for scalar in text.unicodeScalars {
            if inEscape {
                if scalar == "m" { inEscape = false }
            } else if scalar == "\u{1B}" {
                inEscape = true
            } else {
                width += 1
            }
        }
        return width
    }
}
