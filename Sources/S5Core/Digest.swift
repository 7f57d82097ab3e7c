internal import COpenSSL

extension HashAlgorithm {
    /// The OpenSSL digest of this algorithm; nil for BLAKE3, which OpenSSL does not compute.
    fileprivate var evp: OpaquePointer? {
        switch self {
        case .sha256: EVP_sha256()
        case .sha512: EVP_sha512()
        case .sha1: EVP_sha1()
        case .md5: EVP_md5()
        case .blake3: nil
        }
    }
}

/// A failed OpenSSL digest call.
public enum DigestError: Error, Equatable, Sendable, CustomStringConvertible {
    /// `function` returned an error for `algorithm` (for example an algorithm a FIPS build refuses).
    case openSSLFailure(function: String, algorithm: HashAlgorithm)
    /// OpenSSL does not compute `algorithm` (BLAKE3: use ``BLAKE3Hasher``).
    case notAnOpenSSLDigest(HashAlgorithm)

    public var description: String {
        switch self {
        case .openSSLFailure(let function, let algorithm): "OpenSSL \(function) failed for \(algorithm.rawValue)"
        case .notAnOpenSSLDigest(let algorithm): "\(algorithm.rawValue) is not an OpenSSL digest"
        }
    }
}

/// A streaming OpenSSL digest (an `EVP_MD_CTX`), freed when the hasher goes away.
///
/// ```swift
/// var hasher = OpenSSLHasher(.sha256)
/// hasher.update(buffer)
/// let digest = hasher.finalize()
/// ```
public struct OpenSSLHasher: ~Copyable {
    /// The algorithm being computed.
    public let algorithm: HashAlgorithm
    private let context: OpaquePointer

    /// Starts a digest, reporting OpenSSL failures.
    ///
    /// - Parameter algorithm: the digest to compute.
    /// - Throws: ``DigestError`` if OpenSSL cannot allocate or initialise the context, or does not compute
    ///   `algorithm` (BLAKE3).
    public init(checking algorithm: HashAlgorithm) throws(DigestError) {
        guard let evp = algorithm.evp else { throw .notAnOpenSSLDigest(algorithm) }
        guard let context = EVP_MD_CTX_new() else {
            throw .openSSLFailure(function: "EVP_MD_CTX_new", algorithm: algorithm)
        }
        guard EVP_DigestInit_ex(context, evp, nil) == 1 else {
            EVP_MD_CTX_free(context)
            throw .openSSLFailure(function: "EVP_DigestInit_ex", algorithm: algorithm)
        }
        self.algorithm = algorithm
        self.context = context
    }

    /// Starts a digest.
    ///
    /// OpenSSL only fails here when out of memory or when its configuration disables the algorithm
    /// (e.g. md5 under FIPS); that stops the program with a message naming the call, as does BLAKE3 (not an
    /// OpenSSL digest: ``HashAlgorithm/isOpenSSLDigest``). Use ``init(checking:)`` to handle it instead.
    ///
    /// - Parameter algorithm: the digest to compute.
    public init(_ algorithm: HashAlgorithm) {
        do {
            try self.init(checking: algorithm)
        } catch {
            preconditionFailure("\(error)")
        }
    }

    deinit { EVP_MD_CTX_free(self.context) }

    /// Adds bytes to the digest.
    ///
    /// Traps only if OpenSSL reports a failure, which for these in-memory digests means a broken library.
    ///
    /// - Parameter bytes: the next bytes of the input; may be empty.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        guard EVP_DigestUpdate(self.context, base, bytes.count) == 1 else {
            preconditionFailure("\(DigestError.openSSLFailure(function: "EVP_DigestUpdate", algorithm: algorithm))")
        }
    }

    /// Adds bytes to the digest.
    ///
    /// - Parameter bytes: the next bytes of the input; may be empty.
    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { self.update($0) }
    }

    /// Ends the digest and frees the context.
    ///
    /// - Returns: ``HashAlgorithm/digestLength`` bytes.
    public consuming func finalize() -> [UInt8] {
        var length: UInt32 = 0
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        let ok = out.withUnsafeMutableBufferPointer { EVP_DigestFinal_ex(self.context, $0.baseAddress, &length) }
        guard ok == 1, Int(length) == self.algorithm.digestLength else {
            preconditionFailure("\(DigestError.openSSLFailure(function: "EVP_DigestFinal_ex", algorithm: algorithm))")
        }
        out.removeSubrange(Int(length)...)
        return out
    }

    /// The digest of `bytes` in one call.
    ///
    /// - Parameters:
    ///   - algorithm: the digest to compute.
    ///   - bytes: the whole input.
    /// - Returns: ``HashAlgorithm/digestLength`` bytes.
    public static func hash(_ algorithm: HashAlgorithm, _ bytes: [UInt8]) -> [UInt8] {
        var hasher = OpenSSLHasher(algorithm)
        hasher.update(bytes)
        return hasher.finalize()
    }
}

// @unchecked Sendable: the hasher is noncopyable, so exactly one owner holds the context at a time; an
// EVP_MD_CTX is not tied to the thread that created it. Moving it to another thread is therefore safe.
extension OpenSSLHasher: @unchecked Sendable {}
