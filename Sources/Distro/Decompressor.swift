/// The compression an index file comes in.
public enum Compression: String, Sendable, CaseIterable {
    case none, gzip, xz, zstd

    /// Recognises the compression by its magic bytes: gzip `1f 8b`, xz `fd 37 7a 58 5a 00`, zstd `28 b5 2f fd`.
    /// - Parameter head: the first bytes of the file (at least 6 to recognise xz).
    /// - Returns: the compression, or `.none` when no magic matches.
    public static func detect(_ head: some Collection<UInt8>) -> Compression {
        let bytes = Array(head.prefix(6))
        if bytes.starts(with: [0x1f, 0x8b]) { return .gzip }
        if bytes.starts(with: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]) { return .xz }
        if bytes.starts(with: [0x28, 0xb5, 0x2f, 0xfd]) { return .zstd }
        return .none
    }

    /// Recognises the compression by the file name's suffix: `.gz`, `.xz`, `.zst`.
    /// - Parameter path: a file name or path (`main/binary-amd64/Packages.xz`).
    public init(pathSuffix path: String) {
        if path.hasSuffix(".gz") {
            self = .gzip
        } else if path.hasSuffix(".xz") {
            self = .xz
        } else if path.hasSuffix(".zst") {
            self = .zstd
        } else {
            self = .none
        }
    }

    /// The file suffix of the compression, with its dot (`.xz`), or `""` for `.none`.
    public var pathSuffix: String {
        switch self {
        case .none: ""
        case .gzip: ".gz"
        case .xz: ".xz"
        case .zstd: ".zst"
        }
    }
}

/// What the C wrappers share: decode input into bounded output chunks, then end the stream.
protocol StreamDecoder: AnyObject {
    /// Decodes all of `input`, handing each output chunk (at most `Decompressor.chunkSize` bytes) to `sink`.
    func feed(_ input: UnsafeRawBufferPointer, _ sink: (UnsafeRawBufferPointer) throws(DistroError) -> Void)
        throws(DistroError)
    /// Flushes what is left; throws `.decompression` when the compressed stream did not end.
    func finish(_ sink: (UnsafeRawBufferPointer) throws(DistroError) -> Void) throws(DistroError)
}

/// A streaming decompressor with a limit on the decompressed size.
///
/// Feed it the compressed bytes in chunks of any size; it hands the decompressed bytes on in chunks of at most
/// 64 KiB and never holds more than one chunk. Once the output would pass `limit`, it throws `.tooLarge` before
/// handing on the chunk that crosses it, so a decompression bomb costs one chunk of memory and stops at once.
/// After an error every further call throws the same error.
public struct Decompressor: ~Copyable {
    /// The size of the output chunks (and of each wrapper's output buffer).
    static let chunkSize = 64 * 1024

    /// The compression this decompressor reads.
    public let compression: Compression
    /// The most decompressed bytes it hands on.
    public let limit: Int
    /// Where the data comes from, for errors.
    public let location: String
    /// How many decompressed bytes it has handed on so far.
    public private(set) var outputCount = 0

    private let decoder: any StreamDecoder
    private var failure: DistroError?
    private var finished = false

    /// Creates a decompressor.
    /// - Parameters:
    ///   - compression: the format of the input; `.none` passes the bytes through (still under the limit).
    ///   - limit: the most decompressed bytes to accept.
    ///   - location: the file's name or URL, for errors.
    /// - Throws: `DistroError.decompression` when the C library cannot set up its decoder.
    public init(_ compression: Compression, limit: Int, location: String) throws(DistroError) {
        self.compression = compression
        self.limit = max(0, limit)
        self.location = location
        switch compression {
        case .none: self.decoder = PassThroughStream()
        case .gzip: self.decoder = try GzipStream(location: location)
        case .xz: self.decoder = try XZStream(location: location)
        case .zstd: self.decoder = try ZstdStream(location: location)
        }
    }

    /// Feeds compressed bytes.
    /// - Parameters:
    ///   - input: the next compressed bytes; any chunking works.
    ///   - output: receives each decompressed chunk (at most 64 KiB, valid only during the call).
    /// - Throws: `.tooLarge` when the output would pass the limit, `.decompression` for corrupt data, or what
    ///   `output` throws.
    public mutating func feed(
        _ input: UnsafeRawBufferPointer, output: (UnsafeRawBufferPointer) throws(DistroError) -> Void
    ) throws(DistroError) {
        if let failure { throw failure }
        guard !finished else {
            throw fail(.decompression(location: location, reason: "data fed after the end of the stream"))
        }
        var count = outputCount
        let limit = self.limit
        let location = self.location
        do {
            try decoder.feed(input) { chunk throws(DistroError) in
                guard chunk.count <= limit - count else { throw .tooLarge(location: location, limit: limit) }
                count += chunk.count
                try output(chunk)
            }
            outputCount = count
        } catch {
            outputCount = count
            throw fail(error)
        }
    }

    /// Feeds compressed bytes from an array.
    /// - Parameters:
    ///   - input: the next compressed bytes.
    ///   - output: receives each decompressed chunk (at most 64 KiB, valid only during the call).
    /// - Throws: as `feed(_:output:)` with a raw buffer.
    public mutating func feed(
        _ input: ArraySlice<UInt8>, output: (UnsafeRawBufferPointer) throws(DistroError) -> Void
    ) throws(DistroError) {
        var failure: DistroError?
        input.withUnsafeBytes { raw in
            do throws(DistroError) { try self.feed(raw, output: output) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// Feeds compressed bytes from an array.
    /// - Parameters:
    ///   - input: the next compressed bytes.
    ///   - output: receives each decompressed chunk (at most 64 KiB, valid only during the call).
    /// - Throws: as `feed(_:output:)` with a raw buffer.
    public mutating func feed(
        _ input: [UInt8], output: (UnsafeRawBufferPointer) throws(DistroError) -> Void
    ) throws(DistroError) {
        try feed(input[...], output: output)
    }

    /// Ends the stream and hands on what the decoder still holds.
    /// - Parameter output: receives each remaining decompressed chunk.
    /// - Throws: `.decompression("truncated ...")` when the compressed stream did not end, `.tooLarge`, or what
    ///   `output` throws.
    public mutating func finish(output: (UnsafeRawBufferPointer) throws(DistroError) -> Void) throws(DistroError) {
        if let failure { throw failure }
        guard !finished else { return }
        var count = outputCount
        let limit = self.limit
        let location = self.location
        do {
            try decoder.finish { chunk throws(DistroError) in
                guard chunk.count <= limit - count else { throw .tooLarge(location: location, limit: limit) }
                count += chunk.count
                try output(chunk)
            }
            outputCount = count
            finished = true
        } catch {
            outputCount = count
            throw fail(error)
        }
    }

    private mutating func fail(_ error: DistroError) -> DistroError {
        failure = error
        return error
    }

    /// Decompresses a whole buffer at once.
    /// - Parameters:
    ///   - data: the compressed bytes.
    ///   - compression: the format, or nil to detect it from the magic bytes.
    ///   - limit: the most decompressed bytes to accept.
    ///   - location: the file's name or URL, for errors.
    /// - Returns: the decompressed bytes.
    /// - Throws: `.tooLarge` past the limit, `.decompression` for corrupt or truncated data.
    public static func decompress(
        _ data: [UInt8], compression: Compression? = nil, limit: Int, location: String
    ) throws(DistroError) -> [UInt8] {
        var decompressor = try Decompressor(compression ?? .detect(data), limit: limit, location: location)
        var result: [UInt8] = []
        try decompressor.feed(data[...]) { chunk in result.append(contentsOf: chunk) }
        try decompressor.finish { chunk in result.append(contentsOf: chunk) }
        return result
    }
}

/// `.none`: the input is the output, cut into chunks.
final class PassThroughStream: StreamDecoder {
    func feed(_ input: UnsafeRawBufferPointer, _ sink: (UnsafeRawBufferPointer) throws(DistroError) -> Void)
        throws(DistroError)
    {
        var offset = 0
        while offset < input.count {
            let end = min(input.count, offset + Decompressor.chunkSize)
            try sink(UnsafeRawBufferPointer(rebasing: input[offset..<end]))
            offset = end
        }
    }

    func finish(_ sink: (UnsafeRawBufferPointer) throws(DistroError) -> Void) throws(DistroError) {}
}
