import Foundation

/// The status pages' JSON twins.
///
/// Keys are **camelCase**, the model's property names as its `Codable` conformance gives them (`generatedAt`,
/// `filesVerified`, `medianBytesPerSecond`, `nodeID`, `blobID`), sorted, so the same page gives the same bytes; the
/// same bytes as ``StatusRoutes/jsonData(_:)``. Times are unix seconds; absent values (`medianBytesPerSecond`
/// without a download, `nodeID` of a static report) are left out. Slashes are not escaped (the twins are served as
/// `application/json` with `nosniff`, never inlined into HTML).
public enum StatusJSON {
    /// Encodes a page.
    /// - Parameter value: ``OverviewPage``, ``MirrorPage``, ``FilePage``, ``PeersPage`` or any part of them.
    /// - Returns: UTF-8 JSON. A value that cannot be encoded (only a custom `Encodable` that throws can fail: the
    ///   pages hold numbers, strings and lists, and non-finite numbers are written as strings) gives
    ///   `{"error":"..."}`.
    public static func encode(_ value: some Encodable) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        do {
            return [UInt8](try encoder.encode(value))
        } catch {
            let message = (try? encoder.encode(["error": "cannot encode the page: \(error)"])) ?? Data()
            return [UInt8](message)
        }
    }
}
