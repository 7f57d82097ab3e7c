import S5Core

/// A peer's connection URI, `ws[s]://z<node id>@host[:port]/path`, split into its parts.
public struct PeerURI: Sendable, Hashable, CustomStringConvertible {
    /// `ws` or `wss`.
    public let scheme: String
    /// The node id in the user-info part, if any.
    public let nodeID: NodeID?
    /// Host name or address (IPv6 literals keep their brackets).
    public let host: String
    /// Explicit port, if any.
    public let port: Int?
    /// Path, starting with `/` (defaults to `/`).
    public let path: String

    /// The errors of ``init(parsing:)``.
    public enum ParseError: Error, Equatable, Sendable, CustomStringConvertible {
        /// Not `ws://` or `wss://`.
        case unsupportedScheme(String)
        /// No host between the scheme and the path.
        case missingHost
        /// A port that is no number in 0...65535.
        case badPort(String)
        /// User info that is no node id.
        case badNodeID(String)
        /// Longer than 2048 bytes.
        case tooLong(Int)

        public var description: String {
            switch self {
            case .unsupportedScheme(let s): "unsupported scheme '\(s)' (want ws or wss)"
            case .missingHost: "no host"
            case .badPort(let p): "bad port '\(p)'"
            case .badNodeID(let n): "bad node id '\(n)'"
            case .tooLong(let n): "URI of \(n) characters is too long"
            }
        }
    }

    /// Parses a peer URI.
    /// - Parameter text: the URI, e.g. `wss://zABC@example.org/s5/p2p`.
    /// - Throws: ``ParseError`` naming the part that is wrong.
    public init(parsing text: String) throws(ParseError) {
        guard text.utf8.count <= 2048 else { throw .tooLong(text.utf8.count) }
        guard let schemeEnd = text.range(of: "://") else { throw .unsupportedScheme(text) }
        let scheme = text[..<schemeEnd.lowerBound].lowercased()
        guard scheme == "ws" || scheme == "wss" else { throw .unsupportedScheme(scheme) }
        var rest = text[schemeEnd.upperBound...]
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? rest.endIndex
        var authority = rest[..<authorityEnd]
        rest = rest[authorityEnd...]
        var nodeID: NodeID? = nil
        if let at = authority.lastIndex(of: "@") {
            let user = String(authority[..<at])
            authority = authority[authority.index(after: at)...]
            if !user.isEmpty {
                do { nodeID = try NodeID(parsing: user) } catch { throw .badNodeID(user) }
            }
        }
        var host = authority
        var port: Int? = nil
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw .missingHost }
            host = authority[...close]
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") {
                guard let p = Int(after.dropFirst()), (0...65535).contains(p) else { throw .badPort(String(after)) }
                port = p
            } else if !after.isEmpty {
                throw .badPort(String(after))
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            let portText = authority[authority.index(after: colon)...]
            guard let p = Int(portText), (0...65535).contains(p) else { throw .badPort(String(portText)) }
            port = p
        }
        guard !host.isEmpty else { throw .missingHost }
        self.scheme = scheme
        self.nodeID = nodeID
        self.host = String(host)
        self.port = port
        let path = String(rest)
        self.path = path.isEmpty ? "/" : path
    }

    /// Builds a URI from its parts.
    public init(scheme: String, nodeID: NodeID?, host: String, port: Int?, path: String) {
        self.scheme = scheme
        self.nodeID = nodeID
        self.host = host
        self.port = port
        self.path = path
    }

    /// The same URI with `nodeID` as its user info.
    public func with(nodeID: NodeID) -> PeerURI {
        PeerURI(scheme: scheme, nodeID: nodeID, host: host, port: port, path: path)
    }

    /// The URI without user info, as handed to the WebSocket client.
    public var dialString: String {
        "\(scheme)://\(host)\(port.map { ":\($0)" } ?? "")\(path)"
    }

    /// The full URI, with the node id (if any) as user info.
    public var description: String {
        let user = nodeID.map { "\($0)@" } ?? ""
        return "\(scheme)://\(user)\(host)\(port.map { ":\($0)" } ?? "")\(path)"
    }
}
