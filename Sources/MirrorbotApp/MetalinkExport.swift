import Foundation

/// A file and the mirrors that verified it, for export.
public struct ExportedFile: Sendable, Equatable {
    public struct Mirror: Sendable, Equatable {
        public var url: String
        /// The mirror host's standing in `[0, 1]`; higher ranks first.
        public var score: Double

        public init(url: String, score: Double) {
            self.url = url
            self.score = score
        }
    }

    public var name: String
    public var size: UInt64
    public var sha256Hex: String
    public var mirrors: [Mirror]

    public init(name: String, size: UInt64, sha256Hex: String, mirrors: [Mirror]) {
        self.name = name
        self.size = size
        self.sha256Hex = sha256Hex
        self.mirrors = mirrors
    }
}

/// Writes a Metalink 4 document (RFC 5854) of verified mirrors, for aria2 and other Metalink clients.
public enum MetalinkExport {
    /// - Parameters:
    ///   - files: Files with at least one verified mirror; others are left out.
    ///   - published: The document's date.
    /// - Returns: The XML text.
    public static func document(_ files: [ExportedFile], published: Date = Date()) -> String {
        var xml = """
            <?xml version="1.0" encoding="UTF-8"?>
            <metalink xmlns="urn:ietf:params:xml:ns:metalink">
              <generator>mirrorbot</generator>
              <published>\(published.formatted(.iso8601))</published>

            """
        for file in files.sorted(by: { $0.name < $1.name }) {
            guard let name = safeName(file.name), !file.mirrors.isEmpty else { continue }
            xml += "  <file name=\"\(escape(name))\">\n"
            xml += "    <size>\(file.size)</size>\n"
            xml += "    <hash type=\"sha-256\">\(escape(file.sha256Hex))</hash>\n"
            let ranked = file.mirrors.sorted { $0.score > $1.score }
            for (rank, mirror) in ranked.enumerated() {
                // RFC 5854: priority 1 is the most preferred; equal scores share a priority.
                let priority = 1 + ranked.prefix(rank).filter { $0.score > mirror.score }.count
                xml += "    <url priority=\"\(priority)\">\(escape(mirror.url))</url>\n"
            }
            xml += "  </file>\n"
        }
        return xml + "</metalink>\n"
    }

    /// A Metalink file name must not climb out of the download folder (RFC 5854, section 4.1.2.1).
    static func safeName(_ name: String) -> String? {
        let components = name.split(separator: "/", omittingEmptySubsequences: false)
        guard !name.isEmpty, !name.hasPrefix("/"), !components.contains(where: { $0 == ".." || $0 == "." || $0.isEmpty })
        else { return nil }
        return name
    }

    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for char in text {
            switch char {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default: out.append(char)
            }
        }
        return out
    }
}
