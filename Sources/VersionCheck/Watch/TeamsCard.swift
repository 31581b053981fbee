import DeployVerifyKit
import InfoEndpoint

/// What Teams gets through a Workflows webhook ("When a Teams webhook request is received"): a
/// message carrying one Adaptive Card 1.2. Alerts, deployment notifications and approval requests
/// fill in its body (a bold title, text, a FactSet) and actions.
package enum TeamsCard {
    /// A card action opening a link (`Action.OpenUrl`); `style` is `positive` or `destructive`.
    package struct Link: Sendable {
        package var title: String
        package var url: String
        package var style: String?

        package init(title: String, url: String, style: String? = nil) {
            self.title = title
            self.url = url
            self.style = style
        }
    }

    /// The message: a title (bold; `color` is `Good`, `Attention` or `Warning`), paragraphs, facts
    /// (left out when empty) and links.
    package static func message(title: String, color: String? = nil, paragraphs: [String] = [],
                                facts: [(title: String, value: String)], links: [Link] = []) -> String {
        var json = JSONText()
        json.object { json in
            json.member("type", "message")
            json.key("attachments")
            json.array { json in
                json.object { json in
                    json.member("contentType", "application/vnd.microsoft.card.adaptive")
                    json.key("contentUrl")
                    json.null()
                    json.key("content")
                    json.object { json in
                        json.member("$schema", "http://adaptivecards.io/schemas/adaptive-card.json")
                        json.member("type", "AdaptiveCard")
                        json.member("version", "1.2")
                        json.key("body")
                        json.array { json in
                            json.object { json in
                                json.member("type", "TextBlock")
                                json.member("text", title)
                                json.member("weight", "Bolder")
                                json.member("size", "Medium")
                                if let color { json.member("color", color) }
                                json.key("wrap")
                                json.bool(true)
                            }
                            for paragraph in paragraphs {
                                json.object { json in
                                    json.member("type", "TextBlock")
                                    json.member("text", paragraph)
                                    json.key("wrap")
                                    json.bool(true)
                                }
                            }
                            if !facts.isEmpty {
                                json.object { json in
                                    json.member("type", "FactSet")
                                    json.key("facts")
                                    json.array { json in
                                        for (title, value) in facts {
                                            json.object { json in
                                                json.member("title", title)
                                                json.member("value", value)
                                            }
                                        }
                                    }
                                }
                            }
                        }
                        if !links.isEmpty {
                            json.key("actions")
                            json.array { json in
                                for link in links {
                                    json.object { json in
                                        json.member("type", "Action.OpenUrl")
                                        json.member("title", link.title)
                                        json.member("url", link.url)
                                        if let style = link.style { json.member("style", style) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return json.text
    }
}
