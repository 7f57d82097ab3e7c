internal import CDistroFormats

/// One member header of a tar archive.
struct ArchiveMember: Sendable {
    /// The member's path as stored (`hello-2.12-1/desc`).
    var path: String
    /// The size the header states, when it states one.
    var size: Int64?
    /// Whether the member is a regular file (not a directory, link or device).
    var isRegularFile: Bool
}

/// Reads a compressed tar archive held in memory through libarchive: the only code that touches libarchive.
///
/// Only tar and the compressions distribution databases use (gzip, xz, zstd, bzip2, or none) are enabled, each
/// through the library itself: a build of libarchive that would run an external program for one of them is
/// refused, so hostile input never starts a process. The decompressed bytes read so far are counted so callers
/// can bound them.
struct ArchiveReader: ~Copyable {
    private let raw: OpaquePointer
    private let storage: UnsafeMutableRawBufferPointer
    private let location: String

    /// Opens an archive over a private copy of the bytes.
    /// - Parameters:
    ///   - bytes: the whole (compressed) archive.
    ///   - location: its name, for errors.
    /// - Throws: `DistroError.decompression` when libarchive cannot be set up or a filter is not built in.
    init(_ bytes: [UInt8], location: String) throws(DistroError) {
        guard let raw = archive_read_new() else {
            throw .decompression(location: location, reason: "archive_read_new failed")
        }
        // At least one byte, so the buffer has an address even for empty input.
        let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 16)
        storage.copyBytes(from: bytes)
        let setups: [(String, (OpaquePointer) -> Int32)] = [
            ("gzip", { archive_read_support_filter_gzip($0) }),
            ("xz", { archive_read_support_filter_xz($0) }),
            ("zstd", { archive_read_support_filter_zstd($0) }),
            ("bzip2", { archive_read_support_filter_bzip2($0) }),
            ("tar", { archive_read_support_format_tar($0) }),
        ]
        for (name, setup) in setups where setup(raw) != ARCHIVE_OK {
            let reason = "libarchive has no built-in \(name) support"
            archive_read_free(raw)
            storage.deallocate()
            throw .decompression(location: location, reason: reason)
        }
        guard archive_read_open_memory(raw, storage.baseAddress, bytes.count) == ARCHIVE_OK else {
            let reason = Self.errorString(raw)
            archive_read_free(raw)
            storage.deallocate()
            throw .malformed(location: location, reason: "not a tar archive (\(reason))")
        }
        self.raw = raw
        self.storage = storage
        self.location = location
    }

    deinit {
        archive_read_free(raw)
        storage.deallocate()
    }

    /// The decompressed bytes libarchive has consumed so far (headers, data and skipped data).
    var decompressedBytes: Int64 { archive_filter_bytes(raw, 0) }

    /// The next member's header.
    /// - Returns: the header, or nil at the end of the archive.
    /// - Throws: `DistroError.malformed` when the first header is not tar, `.decompression` for later damage.
    mutating func next() throws(DistroError) -> ArchiveMember? {
        var entry: OpaquePointer?
        let status = archive_read_next_header(raw, &entry)
        if status == ARCHIVE_EOF { return nil }
        guard status == ARCHIVE_OK || status == ARCHIVE_WARN, let entry else {
            let reason = Self.errorString(raw)
            if archive_file_count(raw) == 0 {
                throw .malformed(location: location, reason: "not a compressed tar archive (\(reason))")
            }
            throw .decompression(location: location, reason: reason)
        }
        let path = archive_entry_pathname(entry).map { String(cString: $0) } ?? ""
        let size = archive_entry_size_is_set(entry) != 0 ? archive_entry_size(entry) : nil
        let isRegularFile = archive_entry_filetype(entry) & 0o170000 == 0o100000
        return ArchiveMember(path: path, size: size, isRegularFile: isRegularFile)
    }

    /// Reads the current member's data.
    /// - Parameter limit: the most bytes to return.
    /// - Returns: the data, or nil when the member holds more than `limit` bytes (its rest is then skipped).
    /// - Throws: `DistroError.decompression` when the data is damaged.
    mutating func readData(limit: Int) throws(DistroError) -> [UInt8]? {
        var data: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { archive_read_data(raw, $0.baseAddress, $0.count) }
            if count == 0 { return data }
            guard count > 0 else { throw .decompression(location: location, reason: Self.errorString(raw)) }
            if data.count + count > limit {
                try skipData()
                return nil
            }
            data.append(contentsOf: chunk[0..<count])
        }
    }

    /// Skips the rest of the current member's data (decompressing it: callers bound it first).
    /// - Throws: `DistroError.decompression` when the data is damaged.
    mutating func skipData() throws(DistroError) {
        let status = archive_read_data_skip(raw)
        guard status == ARCHIVE_OK || status == ARCHIVE_WARN else {
            throw .decompression(location: location, reason: Self.errorString(raw))
        }
    }

    private static func errorString(_ raw: OpaquePointer) -> String {
        archive_error_string(raw).map { String(cString: $0) } ?? "unknown libarchive error"
    }
}
