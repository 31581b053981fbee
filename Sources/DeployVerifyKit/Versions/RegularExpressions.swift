import Foundation
import InfoEndpoint

/// Compiled regular expressions, one per pattern for the life of the process.
///
/// The patterns are the user's own (`regex:` expectations, `matches` conditions), and the same ones
/// come back every watch cycle, bake round and served phase. Compiling each once is faster, and on
/// Linux it is also what keeps memory flat: Foundation's `NSRegularExpression(pattern:)` leaks a
/// buffer on some pattern lengths (602 bytes for 200 characters; found fuzzing version expectations).
package enum RegularExpressions {
    /// Patterns past this many are compiled each time rather than kept (a bound, not a tuning knob).
    static let capacity = 512

    private static let compiled = Locked<[String: Compiled]>([:])

    /// The compiled pattern; nil when it is not a valid regular expression (remembered too).
    package static func compile(_ pattern: String) -> NSRegularExpression? {
        if let known = compiled.withLock({ $0[pattern] }) { return known.expression }
        let entry = Compiled(expression: try? NSRegularExpression(pattern: pattern))
        compiled.withLock { table in
            if table.count < capacity { table[pattern] = entry }
        }
        return entry.expression
    }

    private struct Compiled: @unchecked Sendable { // NSRegularExpression is immutable and thread-safe
        let expression: NSRegularExpression?
    }
}
