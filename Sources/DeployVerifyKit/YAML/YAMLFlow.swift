/// Flow collections: `[a, b]` and `{a: 1, b: [x]}`, nested and spanning lines. Inside them
/// indentation does not matter; every collection must be closed.
extension YAMLParser {
    /// A node inside a flow collection, before it is known whether it is a key.
    enum FlowNode {
        case collection(JSONValue, start: Int)
        case scalar(String, plain: Bool, start: Int, multiLine: Bool)
    }

    /// `[...]`, from its bracket to after the closing one. An entry `key: value` is a mapping
    /// of one pair.
    mutating func flowSequence() throws(YAMLSyntaxError) -> JSONValue {
        let open = index
        try enter()
        defer { depth -= 1 }
        index += 1
        var items: [JSONValue] = []
        while true {
            try skipFlowSpace(open: open)
            if current == Byte.rightBracket {
                index += 1
                return .array(items)
            }
            if current == Byte.comma { throw error("an empty entry: a value is missing before ','") }
            let node = try flowNode(open: open)
            let line = lineStart
            try skipFlowSpace(open: open)
            if current == Byte.colon {
                let key = try flowKey(node, colonLine: line)
                index += 1
                try skipFlowSpace(open: open)
                let value = current == Byte.comma || current == Byte.rightBracket ? JSONValue.null : try flowValue(flowNode(open: open))
                items.append(.object(JSONObject([(key, value)])))
                try skipFlowSpace(open: open)
            } else {
                items.append(try flowValue(node))
            }
            if current == Byte.comma {
                index += 1
                continue
            }
            if current == Byte.rightBracket {
                index += 1
                return .array(items)
            }
            throw error("expected ',' or ']' in the flow sequence opened at \(location(of: open))")
        }
    }

    /// `{...}`, from its brace to after the closing one. Every entry is `key: value` (a
    /// missing value is null).
    mutating func flowMapping() throws(YAMLSyntaxError) -> JSONValue {
        let open = index
        try enter()
        defer { depth -= 1 }
        index += 1
        var object = JSONObject()
        while true {
            try skipFlowSpace(open: open)
            if current == Byte.rightBrace {
                index += 1
                return .object(object)
            }
            if current == Byte.comma { throw error("an empty entry: a key is missing before ','") }
            let keyStart = index
            let node = try flowNode(open: open)
            let line = lineStart
            try skipFlowSpace(open: open)
            guard current == Byte.colon else {
                let shown = if case .scalar(let text, _, _, _) = node { " '\(text.prefix(40))'" } else { "" }
                throw error("expected ':' after the key\(shown) in the flow mapping opened at \(location(of: open)) (write 'key: value', with a space after ':')")
            }
            let key = try flowKey(node, colonLine: line)
            index += 1
            try skipFlowSpace(open: open)
            let value = current == Byte.comma || current == Byte.rightBrace ? JSONValue.null : try flowValue(flowNode(open: open))
            if object[key] != nil { throw error("duplicate key '\(key)'", at: keyStart) }
            object[key] = value
            try skipFlowSpace(open: open)
            if current == Byte.comma {
                index += 1
                continue
            }
            if current == Byte.rightBrace {
                index += 1
                return .object(object)
            }
            throw error("expected ',' or '}' in the flow mapping opened at \(location(of: open))")
        }
    }

    mutating func flowNode(open: Int) throws(YAMLSyntaxError) -> FlowNode {
        let start = index
        let line = lineStart
        switch current {
        case Byte.leftBracket:
            return .collection(try flowSequence(), start: start)
        case Byte.leftBrace:
            return .collection(try flowMapping(), start: start)
        case Byte.doubleQuote:
            let text = try doubleQuoted()
            return .scalar(text, plain: false, start: start, multiLine: lineStart != line)
        case Byte.singleQuote:
            let text = try singleQuoted()
            return .scalar(text, plain: false, start: start, multiLine: lineStart != line)
        default:
            try checkNodeStart(flow: true)
            let scalar = try plainScalar(parent: -1, flow: true)
            return .scalar(scalar.text, plain: true, start: start, multiLine: scalar.multiLine)
        }
    }

    func flowValue(_ node: FlowNode) throws(YAMLSyntaxError) -> JSONValue {
        switch node {
        case .collection(let value, _): value
        case .scalar(let text, let plain, let start, _): plain ? try resolve(text, at: start) : .string(text)
        }
    }

    /// A node followed by `:`, as a key; `colonLine` is where the node ended (the line its `:`
    /// must be on).
    func flowKey(_ node: FlowNode, colonLine: Int) throws(YAMLSyntaxError) -> String {
        switch node {
        case .collection(_, let start):
            throw error("a flow collection cannot be a key: keys must be strings", at: start)
        case .scalar(let text, let plain, let start, let multiLine):
            if multiLine || lineStart != colonLine { throw error("a key must be on a single line, with its ':'", at: start) }
            return plain ? try plainKey(Array(text.utf8)[...], at: start) : text
        }
    }

    /// Skips white space, line breaks and comments inside a flow collection.
    mutating func skipFlowSpace(open: Int) throws(YAMLSyntaxError) {
        while index < bytes.count {
            switch bytes[index] {
            case Byte.space, Byte.tab:
                index += 1
            case Byte.newline:
                index += 1
                lineStart = index
                if isDocumentMarker(at: index) {
                    throw error("a document marker inside the flow collection opened at \(location(of: open))")
                }
            case Byte.hash where index == lineStart || Self.isSpace(bytes[index - 1]):
                while index < bytes.count, bytes[index] != Byte.newline { index += 1 }
            default:
                return
            }
        }
        let what = bytes[open] == Byte.leftBracket ? "flow sequence: this '[' is never closed" : "flow mapping: this '{' is never closed"
        throw error("unterminated \(what)", at: open)
    }
}
