internal import CDistroFormats

/// liblzma's `.xz` decoder (concatenated streams and stream padding accepted, integrity checks verified).
final class XZStream: StreamDecoder {
    /// The most memory the decoder may use: xz -9 needs 65 MiB; a header asking for more is refused.
    static let memoryLimit: UInt64 = 256 << 20

    private let stream: UnsafeMutablePointer<lzma_stream>
    private let buffer: UnsafeMutableRawBufferPointer
    private let location: String

    init(location: String) throws(DistroError) {
        self.location = location
        stream = .allocate(capacity: 1)
        stream.initialize(to: lzma_stream())  // all zero: LZMA_STREAM_INIT
        buffer = .allocate(byteCount: Decompressor.chunkSize, alignment: 16)
        let result = lzma_stream_decoder(stream, Self.memoryLimit, cdistro_lzma_concatenated())
        guard result == LZMA_OK else {
            stream.deallocate()
            buffer.deallocate()
            throw .decompression(location: location, reason: "xz decoder setup failed (\(Self.describe(result)))")
        }
    }

    deinit {
        lzma_end(stream)
        stream.deallocate()
        buffer.deallocate()
    }

    func feed(_ input: UnsafeRawBufferPointer, _ sink: (UnsafeRawBufferPointer) throws(DistroError) -> Void)
        throws(DistroError)
    {
        guard let base = input.baseAddress, !input.isEmpty else { return }
        stream.pointee.next_in = base.assumingMemoryBound(to: UInt8.self)
        stream.pointee.avail_in = input.count
        defer {
            stream.pointee.next_in = nil
            stream.pointee.avail_in = 0
        }
        try run(LZMA_RUN, sink)
    }

    func finish(_ sink: (UnsafeRawBufferPointer) throws(DistroError) -> Void) throws(DistroError) {
        try run(LZMA_FINISH, sink)
    }

    /// Calls `lzma_code` until the input is used up (`LZMA_RUN`) or the stream ends (`LZMA_FINISH`).
    private func run(_ action: lzma_action, _ sink: (UnsafeRawBufferPointer) throws(DistroError) -> Void)
        throws(DistroError)
    {
        while true {
            stream.pointee.next_out = buffer.baseAddress!.assumingMemoryBound(to: UInt8.self)  // allocated above
            stream.pointee.avail_out = buffer.count
            let result = lzma_code(stream, action)
            let produced = buffer.count - stream.pointee.avail_out
            if produced > 0 { try sink(UnsafeRawBufferPointer(rebasing: buffer[0..<produced])) }
            switch result {
            case LZMA_OK:
                if action == LZMA_RUN && stream.pointee.avail_in == 0 && produced < buffer.count { return }
            case LZMA_STREAM_END:
                return
            case LZMA_BUF_ERROR:
                // No progress possible: more input is needed. At the end that means the stream was cut short.
                if action == LZMA_RUN { return }
                throw .decompression(location: location, reason: "truncated xz data")
            default:
                throw .decompression(location: location, reason: Self.describe(result))
            }
        }
    }

    private static func describe(_ result: lzma_ret) -> String {
        switch result {
        case LZMA_FORMAT_ERROR: "not xz data"
        case LZMA_DATA_ERROR: "corrupt xz data"
        case LZMA_OPTIONS_ERROR: "unsupported xz options"
        case LZMA_MEMLIMIT_ERROR: "xz data needing more than \(memoryLimit >> 20) MiB of memory to decode"
        case LZMA_MEM_ERROR: "out of memory"
        case LZMA_UNSUPPORTED_CHECK: "unsupported xz integrity check"
        default: "liblzma error \(result.rawValue)"
        }
    }
}
