// The S5Core fuzz targets. Each decodes arbitrary bytes and checks, where a value comes out, that
// encoding it and decoding again gives the same value; a mismatch traps, and libFuzzer saves the input.

/// The fuzz targets of the S5Core family, by `FUZZ_TARGET` name.
enum FuzzTarget: String, CaseIterable {
    /// `MessagePackReader.readValue` until the input ends or is rejected.
    case msgpack
    /// `P2PMessage.decode` and every top-level message's `init(decoding:)`.
    case p2p
    /// `SignedMessage(decoding:)`, `SignedPayload.decode` and the signed messages' `init(decoding:)`.
    case signed
    /// `ProvideRecord(verifying:)`.
    case record
    /// Multibase text, multihash, node id and blob id parsing, from text and from bytes.
    case ids
    /// `BaoTree(outboard:root:)`: 32 bytes of root, then an outboard.
    case outboard

    func run(_ bytes: [UInt8]) {
        switch self {
        case .msgpack: fuzzMessagePack(bytes)
        case .p2p: fuzzP2P(bytes)
        case .signed: fuzzSigned(bytes)
        case .record: fuzzRecord(bytes)
        case .ids: fuzzIdentifiers(bytes)
        case .outboard: fuzzOutboard(bytes)
        }
    }
}

func fuzzMessagePack(_ bytes: [UInt8]) {
    var reader = MessagePackReader(bytes)
    var count = 0
    while !reader.isAtEnd {
        let before = reader.offset
        do {
            _ = try reader.readValue()
        } catch {
            break
        }
        check(reader.offset > before && reader.offset <= bytes.count, "reader did not advance within bounds")
        count += 1
    }
    check(count <= bytes.count, "more values than bytes")
    // The typed readers on the same input: each either reads or throws.
    var typed = MessagePackReader(bytes)
    _ = try? typed.readInt()
    _ = try? typed.readBool()
    _ = try? typed.readString()
    _ = try? typed.readBinary()
    _ = try? typed.readArrayHeader()
    _ = try? typed.readMapHeader()
}

func fuzzP2P(_ bytes: [UInt8]) {
    if let message = try? P2PMessage.decode(bytes) {
        switch message {
        case .handshakeOpen(let open):
            check((try? HandshakeOpen(decoding: open.encoded())) == open, "handshake open round trip")
        case .signed(let signed):
            check((try? SignedMessage(decoding: signed.encoded())) == signed, "signed message round trip")
            _ = signed.isValid
            _ = try? SignedPayload.decode(signed.inner)
        case .hashQuery(let query):
            check((try? HashQuery(decoding: query.encoded())) == query, "hash query round trip")
        case .provideRecord(let raw):
            check(raw == bytes, "provide record passed on unchanged")
            _ = try? ProvideRecord(verifying: raw)
        case .ignored:
            break
        }
    }
    _ = try? HandshakeOpen(decoding: bytes)
    _ = try? SignedMessage(decoding: bytes)
    _ = try? HashQuery(decoding: bytes)
}

func fuzzSigned(_ bytes: [UInt8]) {
    if let payload = try? SignedPayload.decode(bytes) {
        switch payload {
        case .handshakeDone(let done):
            check((try? HandshakeDone(decoding: done.encoded())) == done, "handshake done round trip")
        case .announcePeers(let announce):
            check((try? AnnouncePeers(decoding: announce.encoded())) == announce, "announce peers round trip")
        case .ignored:
            break
        }
    }
    _ = try? HandshakeDone(decoding: bytes)
    _ = try? AnnouncePeers(decoding: bytes)
    if let signed = try? SignedMessage(decoding: bytes) {
        _ = signed.isValid
        _ = try? SignedPayload.decode(signed.inner)
    }
}

/// The key the record target re-signs mutated records with.
let fuzzKey = try? KeyPair(seed: [UInt8](repeating: 7, count: 32))

func fuzzRecord(_ bytes: [UInt8]) {
    do {
        checkRecord(try ProvideRecord(verifying: bytes), bytes)
    } catch .badSignature {
        // Mutated records never verify. Their structure passed every other check, so signed again
        // (same signed region, the fuzz key as provider) the record must verify and re-encode.
        guard let key = fuzzKey else { return }
        let signed = Array(bytes[..<(bytes.count - SignedMessage.signatureLength - NodeID.byteCount)])
        let resigned = signed + key.nodeID.bytes + key.sign(signed)
        do {
            checkRecord(try ProvideRecord(verifying: resigned), resigned)
        } catch {
            check(false, "re-signed record rejected: \(error)")
        }
    } catch {
        return
    }
}

/// A valid record's fields must lay out exactly its bytes.
func checkRecord(_ record: ProvideRecord, _ bytes: [UInt8]) {
    check(record.bytes == bytes, "record keeps its bytes")
    var signed: [UInt8] = [ProvideRecord.recordType] + record.multihash.bytes + [record.locationType]
    withUnsafeBytes(of: record.expiry.littleEndian) { signed += $0 }
    signed.append(UInt8(record.parts.count))
    for part in record.parts {
        withUnsafeBytes(of: UInt16(part.utf8.count).littleEndian) { signed += $0 }
        signed += part.utf8
    }
    signed.append(0)
    check(signed + record.provider.bytes + record.signature == bytes, "record fields re-encode to its bytes")
}

func fuzzIdentifiers(_ input: [UInt8]) {
    let text = String(decoding: input, as: UTF8.self)
    if let decoded = try? Multibase.decode(text) {
        let encodings: [Multibase.Encoding] = [.base58btc, .base32, .base64url, .base16]
        for encoding in encodings {
            let encoded = Multibase.encode(decoded, as: encoding)
            // Text beyond the decoder's length cap is refused by design, even when we wrote it.
            guard encoded.utf8.count <= Multibase.maximumTextLength else { continue }
            check((try? Multibase.decode(encoded)) == decoded, "multibase \(encoding) round trip")
        }
    }
    if let hash = try? Multihash(parsing: text) {
        check((try? Multihash(parsing: hash.base64URL)) == hash, "multihash base64url round trip")
        check(hash.canonical.type != Multihash.blake3LegacyType, "canonical multihash")
    }
    if let node = try? NodeID(parsing: text) {
        check((try? NodeID(parsing: node.description)) == node, "node id round trip")
    }
    if let blob = try? BlobID(parsing: text) {
        check((try? BlobID(parsing: blob.description)) == blob, "blob id round trip")
    }
    if let hash = try? Multihash(bytes: input) { check(hash.bytes == input, "multihash keeps its bytes") }
    if let node = try? NodeID(bytes: input) { check(node.bytes == input, "node id keeps its bytes") }
    if let blob = try? BlobID(bytes: input) {
        check((try? BlobID(bytes: blob.bytes)) == blob, "blob id bytes round trip")
    }
    _ = bytes(fromHex: text)
}

func fuzzOutboard(_ bytes: [UInt8]) {
    guard bytes.count >= 32 else { return }
    let root = Array(bytes[..<32])
    let outboard = Array(bytes[32...])
    guard let tree = try? BaoTree(outboard: outboard, root: root) else { return }
    // An accepted outboard is exactly the one its tree writes, and its values hash back to the root.
    check(tree.outboard() == outboard, "outboard round trip")
    check(tree.groupCount == Bao.groupCount(length: tree.length), "group count")
    check(
        tree.groupCount == 1
            || BaoTree(length: tree.length, groupChainingValues: tree.groupChainingValues, root: root) == tree,
        "group values hash to the root")
    _ = tree.wrongGroups(first: 0, values: Array(outboard.prefix(64)))
}
