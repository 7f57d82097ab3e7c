internal import CDistroFormats

/// zlib's inflate with gzip headers (concatenated members accepted, CRC and length verified, trailing zero
/// bytes after the last member ignored as gzip does).
final class GzipStream: StreamDecoder {
    /// windowBits 15 + 32: the largest window, gzip or zlib header detected automatically.
    private static let windowBits: Int32 = 15 + 32

    // inflate keeps a pointer back to its z_stream, so the stream lives at a fixed address.
    private let stream: UnsafeMutablePointer<z_stream>
    private let buffer: UnsafeMutableRawBufferPointer
    private let location: String
    /// True between members: before the first byte and after each member's trailer.
    private var atMemberBoundary = true
    /// True once a whole member was decoded.
    private var sawMember = false

    init(location: String) throws(DistroError) {
        self.location = location
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())  // zalloc, zfree, opaque nil: zlib's allocator
        buffer = .allocate(byteCount: Decompressor.chunkSize, alignment: 16)
        let result = cdistro_inflate_init2(stream, Self.windowBits)
        guard result == Z_OK else {
            stream.deallocate()
            buffer.deallocate()
            throw .decompression(location: location, reason: "zlib setup failed (\(result))")
        }
    }

    deinit {
        inflateEnd(stream)
        stream.deallocate()
        buffer.deallocate()
    }

    func feed(_ input: UnsafeRawBufferPointer, _ sink: (UnsafeRawBufferPointer) throws(DistroError) -> Void)
        throws(DistroError)
    {
        guard let base = input.baseAddress else { return }
        var offset = 0
        while offset < input.count {
            if atMemberBoundary {
                // Zero padding between or after members is skipped; anything else starts a member.
                while offset < input.count && input[offset] == 0 { offset += 1 }
                guard offset < input.count else { return }
                if sawMember {
                    let reset = inflateReset(stream)
                    guard reset == Z_OK else {
                        throw .decompression(location: location, reason: "zlib reset failed (\(reset))")
                    }
                }
                atMemberBoundary = false
            }
            // avail_in is 32 bits: hand larger inputs over in pieces.
            let piece = min(input.count - offset, Int(UInt32.max))
            stream.pointee.next_in = UnsafeMutablePointer(
                mutating: (base + offset).assumingMemoryBound(to: Bytef.self))  // inflate only reads it
            stream.pointee.avail_in = UInt32(piece)
            let ended = try inflateAvailable(sink)
            let consumed = piece - Int(stream.pointee.avail_in)
            guard consumed > 0 || ended else {
                throw .decompression(location: location, reason: "corrupt gzip data (zlib made no progress)")
            }
            offset += consumed
            stream.pointee.next_in = nil
            stream.pointee.avail_in = 0
            if ended {
                atMemberBoundary = true
                sawMember = true
            }
        }
    }

    func finish(_ sink: (UnsafeRawBufferPointer) throws(DistroError) -> Void) throws(DistroError) {
        guard atMemberBoundary && sawMember else {
            throw .decompression(location: location, reason: sawMember || !atMemberBoundary
                ? "truncated gzip data" : "truncated gzip data (no data at all)")
        }
    }

    /// Inflates until the input is used up or the member ends; returns whether it ended.
    private func inflateAvailable(_ sink: (UnsafeRawBufferPointer) throws(DistroError) -> Void)
        throws(DistroError) -> Bool
    {
        while true {
            stream.pointee.next_out = buffer.baseAddress!.assumingMemoryBound(to: Bytef.self)  // allocated above
            stream.pointee.avail_out = UInt32(buffer.count)
            let result = inflate(stream, Z_NO_FLUSH)
            let produced = buffer.count - Int(stream.pointee.avail_out)
            if produced > 0 { try sink(UnsafeRawBufferPointer(rebasing: buffer[0..<produced])) }
            switch result {
            case Z_STREAM_END:
                return true
            case Z_OK:
                if stream.pointee.avail_in == 0 && produced < buffer.count { return false }
            case Z_BUF_ERROR:
                // No progress possible without more input (not an error by itself).
                return false
            case Z_NEED_DICT:
                throw .decompression(location: location, reason: "zlib data needing a preset dictionary")
            case Z_MEM_ERROR:
                throw .decompression(location: location, reason: "out of memory")
            default:
                let message = stream.pointee.msg.map { String(cString: $0) } ?? "zlib error \(result)"
                throw .decompression(location: location, reason: "corrupt gzip data (\(message))")
            }
        }
    }
}
