/// Why a multihash, node id, blob identifier or multibase text was rejected.
public enum IdentifierError: Error, Equatable, Sendable {
    case empty
    case tooLong(length: Int, limit: Int)
    case unknownMultibasePrefix(Character)
    case invalidEncoding(Character)
    case wrongLength(expected: Int, actual: Int)
    case unknownHashType(UInt8)
    case notANodeID(prefix: UInt8)
    case notABlobID
    case invalidSize(byteCount: Int)
}
