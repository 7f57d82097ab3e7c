// TEMPORARY stand-ins for S5Core's `BLAKE3Hasher`, `OpenSSLHasher` and `DigestAlgorithm` (being written on the
// blake3 branch), with the contract's signatures, so this branch compiles. REMOVE after `git merge main`.
// The BLAKE3 stand-in is NOT BLAKE3 (it is SHA3-256); tests compare against the same type, so they stay honest
// about the engine plumbing, and become real BLAKE3 checks once the merge swaps the type.
internal import COpenSSL

public enum DigestAlgorithm: String, Sendable, Hashable, CaseIterable { case sha256, sha512, sha1, md5 }

struct OpenSSLHasher: ~Copyable {
    private let context: OpaquePointer

    init(_ algorithm: DigestAlgorithm) {
        // Stand-in only: allocation failure of a 200-byte context is not handled here.
        self.context = EVP_MD_CTX_new()!
        let md: OpaquePointer? =
            switch algorithm {
            case .sha256: EVP_sha256()
            case .sha512: EVP_sha512()
            case .sha1: EVP_sha1()
            case .md5: EVP_md5()
            }
        EVP_DigestInit_ex(self.context, md, nil)
    }

    fileprivate init(sha3: Void) {
        self.context = EVP_MD_CTX_new()!
        EVP_DigestInit_ex(self.context, EVP_sha3_256(), nil)
    }

    deinit { EVP_MD_CTX_free(self.context) }

    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        EVP_DigestUpdate(self.context, bytes.baseAddress, bytes.count)
    }

    consuming func finalize() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 64)
        var length: UInt32 = 0
        EVP_DigestFinal_ex(self.context, &out, &length)
        return Array(out.prefix(Int(length)))
    }

    static func hash(_ algorithm: DigestAlgorithm, _ bytes: [UInt8]) -> [UInt8] {
        var hasher = OpenSSLHasher(algorithm)
        bytes.withUnsafeBytes { hasher.update($0) }
        return hasher.finalize()
    }
}

struct BLAKE3Hasher {
    private final class Box {
        var hasher = OpenSSLHasher(sha3: ())
    }
    private let box = Box()

    init() {}

    mutating func update(_ bytes: UnsafeRawBufferPointer) { self.box.hasher.update(bytes) }
    mutating func update(_ bytes: [UInt8]) { bytes.withUnsafeBytes { self.box.hasher.update($0) } }

    func finalize() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        let copy = EVP_MD_CTX_new()!
        defer { EVP_MD_CTX_free(copy) }
        self.box.hasher.copy(into: copy)
        EVP_DigestFinal_ex(copy, &out, &length)
        return out
    }

    static func hash(_ bytes: [UInt8]) -> [UInt8] {
        var hasher = BLAKE3Hasher()
        hasher.update(bytes)
        return hasher.finalize()
    }
}

extension OpenSSLHasher {
    fileprivate func copy(into other: OpaquePointer) { EVP_MD_CTX_copy_ex(other, self.context) }
}
