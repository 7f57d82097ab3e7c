import Foundation

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// A small element tree read with XMLParser (namespaces resolved), bounded in size.
struct XMLElement: Sendable {
    var name: String
    var namespace: String?
    var attributes: [String: String]
    var text: String
    var children: [XMLElement]
    var line: Int

    /// The children with a local name (in the same namespace as this element).
    func children(named name: String) -> [XMLElement] {
        children.filter { $0.name == name && $0.namespace == namespace }
    }

    func child(named name: String) -> XMLElement? {
        children.first { $0.name == name && $0.namespace == namespace }
    }

    var trimmedText: String { text.trimmingCharacters(in: .whitespacesAndNewlines) }
}

enum XMLTree {
    static let maxElements = 1_000_000
    static let maxDepth = 64

    /// Parses a document into its root element.
    /// - Throws: a message with the line on malformed XML or when a limit is exceeded.
    static func parse(_ data: Data) throws(FeedParseFailure) -> XMLElement {
        let parser = XMLParser(data: data)
        parser.shouldProcessNamespaces = true
        parser.shouldResolveExternalEntities = false
        let builder = TreeBuilder()
        builder.parser = parser
        parser.delegate = builder
        let ok = parser.parse()
        if let limit = builder.limitHit {
            throw FeedParseFailure(message: limit)
        }
        guard ok, let root = builder.root else {
            let reason = parser.parserError.map { "\($0.localizedDescription)" } ?? "malformed XML"
            throw FeedParseFailure(message: "line \(parser.lineNumber): \(reason)")
        }
        return root
    }

    private final class TreeBuilder: NSObject, XMLParserDelegate {
        weak var parser: XMLParser?
        var stack: [XMLElement] = []
        var root: XMLElement?
        var count = 0
        var limitHit: String?

        func parser(
            _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
            qualifiedName qName: String?, attributes attributeDict: [String: String] = [:]
        ) {
            count += 1
            if count > XMLTree.maxElements || stack.count >= XMLTree.maxDepth {
                limitHit = "more than \(XMLTree.maxElements) elements or deeper than \(XMLTree.maxDepth)"
                parser.abortParsing()
                return
            }
            let namespace = (namespaceURI?.isEmpty ?? true) ? nil : namespaceURI
            stack.append(
                XMLElement(
                    name: elementName, namespace: namespace, attributes: attributeDict, text: "", children: [],
                    line: parser.lineNumber))
        }

        func parser(
            _ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?,
            qualifiedName qName: String?
        ) {
            guard let element = stack.popLast() else { return }
            if stack.isEmpty {
                root = element
            } else {
                stack[stack.count - 1].children.append(element)
            }
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            guard !stack.isEmpty, stack[stack.count - 1].text.utf8.count < 65536 else { return }
            stack[stack.count - 1].text += string
        }
    }
}

/// Why a whole feed document could not be parsed.
struct FeedParseFailure: Error {
    let message: String
}
