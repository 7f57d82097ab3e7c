internal import CDistroFormats

/// libzstd's streaming decoder (concatenated and skippable frames accepted; window up to zstd's default
/// 128 MiB limit).
///
/// libzstd tells a legacy (v0.x) frame by the first bytes of one call's input, so a frame header split across
/// calls decoded or failed depending on how the input was chunked. Each frame's header therefore reaches libzstd
/// in one call from the frame's first byte: fewer than `headerBytes` bytes at a frame's start are held back until
/// more come or the stream finishes.
final class ZstdStream: StreamDecoder {
    /// ZSTD_FRAMEHEADERSIZE_MAX: the longest frame header.
    private static let headerBytes = 18

    private let stream: OpaquePointer
    private let buffer: UnsafeMutableRawBufferPointer
    private let location: String
    /// True at the start and when the last call ended a frame with everything flushed (ZSTD_decompressStream
    /// returned 0): the next byte starts a frame.
    private var atFrameBoundary = true
    private var sawInput = false
    /// The first bytes of a frame, fewer than `headerBytes`, not yet given to libzstd.
    private var held: [UInt8] = []

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
        if held.isEmpty { return try decode(input, finishing: false, sink) }
        let joined = held + input
        held = []
        try decode(joined, finishing: false, sink)
    }

    func finish(_ sink: (UnsafeRawBufferPointer) throws(DistroError) -> Void) throws(DistroError) {
        if !held.isEmpty {
            let rest = held
            held = []
            try decode(rest, finishing: true, sink)
        }
        guard sawInput && atFrameBoundary else {
            throw .decompression(location: location, reason: sawInput
                ? "truncated zstd data" : "truncated zstd data (no data at all)")
        }
    }

    /// `decode` on an array's bytes.
    private func decode(
        _ bytes: [UInt8], finishing: Bool, _ sink: (UnsafeRawBufferPointer) throws(DistroError) -> Void
    ) throws(DistroError) {
        var failure: DistroError?
        bytes.withUnsafeBytes { raw in
            do throws(DistroError) { try decode(raw, finishing: finishing, sink) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// Decodes `input`; unless finishing, a frame starting within its last `headerBytes - 1` bytes is held back.
    private func decode(
        _ input: UnsafeRawBufferPointer, finishing: Bool, _ sink: (UnsafeRawBufferPointer) throws(DistroError) -> Void
    ) throws(DistroError) {
        var source = ZSTD_inBuffer(src: input.baseAddress, size: input.count, pos: 0)
        while true {
            if atFrameBoundary && !finishing && input.count - source.pos < Self.headerBytes {
                held = Array(input[source.pos...])
                return
            }
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

    private static func describe(_ code: Int) -> String {
        ZSTD_getErrorName(code).map { String(cString: $0) } ?? "zstd error \(code)"
    }
}
