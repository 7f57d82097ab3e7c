internal import CSodium

/// Why a key could not be made.
public enum KeyError: Error, Equatable, Sendable {
    case invalidSeedLength(Int)
    case sodiumUnavailable
}

/// An Ed25519 key pair (through libsodium): the node's identity.
///
/// The secret half never appears in `description`, `debugDescription` or reflection, so it cannot
/// reach a log line by accident. Only `seed`, used to write the config file, exposes it.
public struct KeyPair: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The 32-byte public key.
    public let publicKey: [UInt8]
    private let secretKey: [UInt8]  // libsodium's 64-byte form: seed followed by public key

    /// Derives the key pair of a 32-byte seed (RFC 8032).
    /// - Parameter seed: 32 bytes, as kept in the config file.
    /// - Throws: `KeyError` for a seed of the wrong length.
    public init(seed: [UInt8]) throws(KeyError) {
        guard seed.count == 32 else { throw .invalidSeedLength(seed.count) }
        guard Sodium.ready else { throw .sodiumUnavailable }
        var publicKey = [UInt8](repeating: 0, count: 32)
        var secretKey = [UInt8](repeating: 0, count: 64)
        let status = crypto_sign_seed_keypair(&publicKey, &secretKey, seed)
        guard status == 0 else { throw .sodiumUnavailable }
        self.publicKey = publicKey
        self.secretKey = secretKey
    }

    /// A new key pair from libsodium's random source.
    public static func generate() -> KeyPair {
        precondition(Sodium.ready, "libsodium failed to initialise")
        var seed = [UInt8](repeating: 0, count: 32)
        randombytes_buf(&seed, 32)
        // The seed is 32 bytes, the only way `init(seed:)` can fail.
        return try! KeyPair(seed: seed)
    }

    /// The 32-byte seed. Secret: only for writing the config file.
    public var seed: [UInt8] { Array(secretKey[0..<32]) }

    /// This key's node id.
    public var nodeID: NodeID { NodeID(publicKey: publicKey) }

    /// Signs a message (deterministic, RFC 8032).
    /// - Parameter message: The bytes to sign.
    /// - Returns: The 64-byte signature.
    public func sign(_ message: some Collection<UInt8>) -> [UInt8] {
        var signature = [UInt8](repeating: 0, count: 64)
        let message = Array(message)
        let status = crypto_sign_detached(&signature, nil, message, UInt64(message.count), secretKey)
        precondition(status == 0, "crypto_sign_detached cannot fail with a valid key")
        return signature
    }

    public var description: String { "KeyPair(\(nodeID), secret redacted)" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["nodeID": nodeID]) }
}

/// Ed25519 signature checks.
public enum Ed25519 {
    /// Checks a detached Ed25519 signature.
    /// - Parameters:
    ///   - signature: 64 bytes.
    ///   - message: The signed bytes.
    ///   - publicKey: 32 bytes.
    /// - Returns: `true` only for a valid signature; wrong lengths are simply invalid.
    public static func verify(
        signature: some Collection<UInt8>, message: some Collection<UInt8>, publicKey: some Collection<UInt8>
    ) -> Bool {
        guard signature.count == 64, publicKey.count == 32, Sodium.ready else { return false }
        let message = Array(message)
        return crypto_sign_verify_detached(Array(signature), message, UInt64(message.count), Array(publicKey)) == 0
    }
}

/// libsodium must be initialised once before use; `sodium_init` is thread-safe and idempotent.
enum Sodium {
    static let ready: Bool = sodium_init() >= 0
}
