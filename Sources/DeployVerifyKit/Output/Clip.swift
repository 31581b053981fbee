/// `text` cut to `limit` characters (at least 1), its last one "…" when it was longer: how a
/// text goes into a field with a length limit (a chat message's title, a Slack block, an error line).
package func clip(_ text: String, _ limit: Int) -> String {
    text.count > limit ? String(text.prefix(max(limit, 1) - 1)) + "…" : text
}
