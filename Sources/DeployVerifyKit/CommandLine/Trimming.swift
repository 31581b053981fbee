extension StringProtocol {
    /// The text without leading and trailing whitespace and newlines, in plain Swift
    /// (Foundation's `trimmingCharacters(in:)` goes through NSString on Linux, which showed up
    /// as most of the time spent loading a large checks file).
    package var trimmed: String {
        guard let first = firstIndex(where: { !$0.isWhitespace }) else { return "" }
        let last = lastIndex(where: { !$0.isWhitespace })!
        return String(self[first...last])
    }
}
