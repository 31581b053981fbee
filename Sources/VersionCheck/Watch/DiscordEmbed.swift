import DeployVerifyKit
import Foundation
import InfoEndpoint

/// What a Discord webhook gets: a line of content and one embed, within Discord's limits (content
/// 2,000 characters, title 256, description 4,096, 25 fields of name 256 and value 1,024; a
/// longer text ends in "…"). Short values (under 40 characters) sit side by side. Mentions are
/// never parsed: a version string or a message saying `@everyone` pings nobody. Alerts,
/// deployment notifications and approval requests fill it in.
package enum DiscordEmbed {
    package static func message(content: String, title: String, description: String, color: Int, time: Date,
                                facts: [(String, String)]) -> String {
        var json = JSONText()
        json.object { json in
            json.member("content", clip(content, 2000))
            json.key("allowed_mentions")
            json.object { json in
                json.key("parse")
                json.array { _ in }
            }
            json.key("embeds")
            json.array { json in
                json.object { json in
                    json.member("title", clip(title, 256))
                    json.member("description", clip(description, 4096))
                    json.key("color")
                    json.number(color)
                    json.member("timestamp", Timestamps.iso8601(time))
                    json.key("fields")
                    json.array { json in
                        for (name, value) in facts.prefix(25) {
                            json.object { json in
                                json.member("name", clip(name, 256))
                                json.member("value", clip(value, 1024))
                                json.key("inline")
                                json.bool(value.count < 40)
                            }
                        }
                    }
                }
            }
        }
        return json.text
    }
}
