internal import CDistroFormats

/// libzstd's streaming decoder (concatenated and skippable frames accepted; window up to zstd's default
/// 128 MiB limit).
final class ZstdStream: StreamDecoder {
    private let stream: OpaquePointer
    private let buffer: UnsafeMutableRawBufferPointer
    private let location: String
    /// True when the last call ended a frame with everything flushed (ZSTD_decompressStream returned 0).
    private var atFrameBoundary = false
    private var sawInput = false

    init(location: String) throws(DistroError) {
        self.location = location
        guard let stream = ZSTD_createDStream() else {
            throw .decompression(location: location, reason: "zstd decoder setup failed (out of memory)")
        }
        let result = ZSTD_initDStream(stream)
        guard ZSTD_isError(result) == 0 else {
            ZSTD_freeDStream(stream)
            throw .decompression(location: location, reason: "zstd decoder setup failed (\(Self.describe(result)))")
        }
        self.stream = stream
        buffer = .allocate(byteCount: Decompressor.chunkSize, alignment: 16)
    }

    deinit {
        ZSTD_freeDStream(stream)
        buffer.deallocate()
    }

    func feed(_ input: UnsafeRawBufferPointer, _ sink: (UnsafeRawBufferPointer) throws(DistroError) -> Void)
        throws(DistroError)
    {
        guard !input.isEmpty else { return }
        sawInput = true
        var source = ZSTD_inBuffer(src: input.baseAddress, size: input.count, pos: 0)
        while true {
            var target = ZSTD_outBuffer(dst: buffer.baseAddress, size: buffer.count, pos: 0)
            let result = ZSTD_decompressStream(stream, &target, &source)
            guard ZSTD_isError(result) == 0 else {
                throw .decompression(location: location, reason: "corrupt zstd data (\(Self.describe(result)))")
            }
            atFrameBoundary = result == 0
            if target.pos > 0 { try sink(UnsafeRawBufferPointer(rebasing: buffer[0..<target.pos])) }
            // Done when all input is read and the decoder had room to spare (nothing left to flush).
            if source.pos == source.size && target.pos < target.size { return }
        }
    }

    func finish(_ sink: (UnsafeRawBufferPointer) throws(DistroError) -> Void) throws(DistroError) {
        guard sawInput && atFrameBoundary else {
            throw .decompression(location: location, reason: sawInput
                ? "truncated zstd data" : "truncated zstd data (no data at all)")
        }
    }

    private static func describe(_ code: Int) -> String {
        ZSTD_getErrorName(code).map { String(cString: $0) } ?? "zstd error \(code)"
    }
}
