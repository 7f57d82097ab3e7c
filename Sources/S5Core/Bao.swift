/// Bao verified streaming with 256 KiB chunk groups, the layout S5 readers use for type-5 records.
///
/// A file is cut into groups of 256 KiB (256 BLAKE3 chunks); each group's BLAKE3 subtree value is its
/// *chaining value*, and the tree over the groups splits as BLAKE3's does, so the root is the file's BLAKE3
/// hash. The outboard is an 8-byte little-endian length, then every parent node (left chaining value, then
/// right) in pre-order; a file of one group or less has the header alone.
///
/// ```swift
/// var hasher = BaoHasher()
/// hasher.update(body)
/// let tree = hasher.finalize()          // root (= BLAKE3), length, group chaining values
/// let outboard = tree.outboard()        // what `/s5/bao/….obao` serves
/// let checked = try BaoTree(outboard: outboard, root: tree.root)  // a reader's side
/// ```
public enum Bao {
    /// Bytes per chunk group.
    public static let groupSize = 256 << 10
    /// BLAKE3 chunks per group.
    static let chunksPerGroup: UInt64 = 256
    /// Bytes of the outboard's length header.
    public static let headerSize = 8

    /// How many groups a file of `length` bytes has (an empty file has one, empty, group).
    public static func groupCount(length: UInt64) -> Int {
        // Without overflow for any length a header may claim (up to 2^64 - 1: 2^46 groups).
        length == 0 ? 1 : Int(length / UInt64(groupSize) + (length % UInt64(groupSize) == 0 ? 0 : 1))
    }

    /// The size of the outboard of a file of `length` bytes.
    public static func outboardSize(length: UInt64) -> Int {
        headerSize + 64 * (groupCount(length: length) - 1)
    }

    /// The byte range of group `index` in a file of `length` bytes.
    public static func groupRange(_ index: Int, length: UInt64) -> Range<UInt64> {
        let start = UInt64(index) * UInt64(groupSize)
        return start..<min(length, start + UInt64(groupSize))
    }

    /// The chaining value of one group's bytes, as the tree takes it (the root hash when it is the only group).
    ///
    /// - Parameters:
    ///   - bytes: the group's bytes (256 KiB, or fewer for the last group).
    ///   - index: the group's position in the file.
    ///   - isOnlyGroup: whether the file has this one group.
    /// - Returns: 32 bytes.
    public static func groupChainingValue(_ bytes: UnsafeRawBufferPointer, index: Int, isOnlyGroup: Bool) -> [UInt8] {
        var hasher = BLAKE3Hasher(subtreeStartingAtChunk: UInt64(index) * chunksPerGroup)
        hasher.update(bytes)
        return hasher.finalizeSubtree(isRoot: isOnlyGroup)
    }

    /// The number of groups in the left subtree of a node over `count` groups: the largest power of two
    /// that leaves at least one group on the right.
    static func leftGroups(_ count: Int) -> Int {
        precondition(count > 1)
        var left = 1
        while left * 2 < count { left *= 2 }
        return left
    }
}

/// Why an outboard was refused.
public enum BaoError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The outboard's size does not fit the file's length.
    case wrongSize(expected: Int, actual: Int)
    /// The length header names another length.
    case wrongLength(expected: UInt64, actual: UInt64)
    /// A parent node does not hash to the value above it (the outboard is of another file, or corrupt).
    case wrongNode(offset: Int)

    public var description: String {
        switch self {
        case .wrongSize(let expected, let actual): "outboard is \(actual) bytes, expected \(expected)"
        case .wrongLength(let expected, let actual): "outboard is for \(actual) bytes, the file has \(expected)"
        case .wrongNode(let offset): "outboard node at byte \(offset) does not match the hash"
        }
    }
}

/// A file's Bao tree: its length and the chaining value of each 256 KiB group, from which the root hash,
/// the outboard and every group's check follow.
public struct BaoTree: Sendable, Equatable {
    /// The file's length in bytes.
    public let length: UInt64
    /// 32 bytes per group, in order; empty for a file of one group (whose check is the root itself).
    public let groupChainingValues: [UInt8]
    /// The file's BLAKE3 hash.
    public let root: [UInt8]

    /// The number of groups.
    public var groupCount: Int { Bao.groupCount(length: self.length) }

    /// A tree from values kept earlier (the store).
    ///
    /// - Parameters:
    ///   - length: the file's length.
    ///   - groupChainingValues: 32 bytes per group (empty for one group).
    ///   - root: the file's BLAKE3 hash.
    /// - Returns: nil when the values do not fit the length or do not hash to `root`.
    public init?(length: UInt64, groupChainingValues: [UInt8], root: [UInt8]) {
        let groups = Bao.groupCount(length: length)
        guard root.count == 32 else { return nil }
        if groups == 1 {
            guard groupChainingValues.isEmpty else { return nil }
        } else {
            guard groupChainingValues.count == groups * 32,
                Self.subtreeValue(groupChainingValues, 0..<groups, isRoot: true) == root
            else { return nil }
        }
        self.length = length
        self.groupChainingValues = groupChainingValues
        self.root = root
    }

    /// Reads and checks an outboard against a file's hash: every node must hash to the one above it and the
    /// top to `root`.
    ///
    /// - Parameters:
    ///   - outboard: the outboard's bytes, whole.
    ///   - root: the file's BLAKE3 hash (trusted).
    ///   - length: the file's length when known (from a record or the store); else the header's.
    /// - Throws: ``BaoError`` naming the first thing that does not fit.
    public init(outboard: [UInt8], root: [UInt8], length: UInt64? = nil) throws(BaoError) {
        guard outboard.count >= Bao.headerSize else {
            throw .wrongSize(expected: Bao.outboardSize(length: length ?? 0), actual: outboard.count)
        }
        var header: UInt64 = 0
        for index in 0..<8 { header |= UInt64(outboard[index]) << (8 * UInt64(index)) }
        if let length, length != header { throw .wrongLength(expected: length, actual: header) }
        let groups = Bao.groupCount(length: header)
        guard (outboard.count - Bao.headerSize) % 64 == 0, (outboard.count - Bao.headerSize) / 64 == groups - 1 else {
            throw .wrongSize(expected: Bao.outboardSize(length: header), actual: outboard.count)
        }
        var values = [UInt8](repeating: 0, count: groups == 1 ? 0 : groups * 32)
        if groups > 1 {
            var cursor = Bao.headerSize
            try Self.check(outboard, &cursor, 0..<groups, expected: root, isRoot: true, into: &values)
        }
        self.length = header
        self.groupChainingValues = values
        self.root = root
    }

    /// Built by ``BaoHasher``: the values are its own.
    init(trusted length: UInt64, groupChainingValues: [UInt8], root: [UInt8]) {
        self.length = length
        self.groupChainingValues = groupChainingValues
        self.root = root
    }

    /// The outboard: the length header, then every parent node in pre-order.
    public func outboard() -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(Bao.outboardSize(length: self.length))
        for index in 0..<8 { out.append(UInt8(truncatingIfNeeded: self.length >> (8 * UInt64(index)))) }
        if self.groupCount > 1 {
            _ = Self.emit(self.groupChainingValues, 0..<self.groupCount, isRoot: true, into: &out)
        }
        return out
    }

    /// The byte range of group `index`.
    public func groupRange(_ index: Int) -> Range<UInt64> { Bao.groupRange(index, length: self.length) }

    /// Whether `bytes` are exactly group `index` of the file.
    ///
    /// - Parameters:
    ///   - index: the group, 0 ..< ``groupCount``.
    ///   - bytes: what a mirror served for that group's range.
    public func verifyGroup(_ index: Int, _ bytes: UnsafeRawBufferPointer) -> Bool {
        guard index >= 0, index < self.groupCount else { return false }
        let range = self.groupRange(index)
        guard UInt64(bytes.count) == range.upperBound - range.lowerBound else { return false }
        let isOnly = self.groupCount == 1
        let value = Bao.groupChainingValue(bytes, index: index, isOnlyGroup: isOnly)
        if isOnly { return value == self.root }
        return value.elementsEqual(self.groupChainingValues[(index * 32)..<(index * 32 + 32)])
    }

    /// The groups whose values differ from `values` (32 bytes each, from ``BaoHasher/groupValues()`` of a range
    /// that starts at group `first`); every group of the range is listed when the count is wrong.
    ///
    /// - Parameters:
    ///   - first: the range's first group.
    ///   - values: the values the range's bytes gave.
    /// - Returns: the wrong groups' numbers, empty when all match.
    public func wrongGroups(first: Int, values: [UInt8]) -> [Int] {
        let count = values.count / 32
        guard self.groupCount > 1, first >= 0, values.count % 32 == 0, count > 0, first + count <= self.groupCount
        else { return Array(max(0, first)..<max(first + 1, first + count)) }
        return (0..<count).filter { offset in
            let group = first + offset
            return !values[(offset * 32)..<(offset * 32 + 32)]
                .elementsEqual(self.groupChainingValues[(group * 32)..<(group * 32 + 32)])
        }.map { first + $0 }
    }

    /// Whether `bytes` are exactly group `index` of the file.
    public func verifyGroup(_ index: Int, _ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { self.verifyGroup(index, $0) }
    }

    // MARK: - The tree

    private static func value(_ values: [UInt8], _ index: Int) -> ArraySlice<UInt8> {
        values[(index * 32)..<(index * 32 + 32)]
    }

    private static func parent(_ left: some Collection<UInt8>, _ right: some Collection<UInt8>, isRoot: Bool) -> [UInt8] {
        let pair = Array(left) + Array(right)
        return pair.withUnsafeBytes { BLAKE3Hasher.parentChainingValue($0, isRoot: isRoot) }
    }

    /// The chaining value of the subtree over `groups`.
    static func subtreeValue(_ values: [UInt8], _ groups: Range<Int>, isRoot: Bool) -> [UInt8] {
        if groups.count == 1 { return Array(value(values, groups.lowerBound)) }
        let split = groups.lowerBound + Bao.leftGroups(groups.count)
        let left = subtreeValue(values, groups.lowerBound..<split, isRoot: false)
        let right = subtreeValue(values, split..<groups.upperBound, isRoot: false)
        return parent(left, right, isRoot: isRoot)
    }

    /// Appends the subtree's parent nodes in pre-order; returns its chaining value.
    private static func emit(_ values: [UInt8], _ groups: Range<Int>, isRoot: Bool, into out: inout [UInt8]) -> [UInt8] {
        if groups.count == 1 { return Array(value(values, groups.lowerBound)) }
        let slot = out.count
        out.append(contentsOf: repeatElement(0, count: 64))
        let split = groups.lowerBound + Bao.leftGroups(groups.count)
        let left = emit(values, groups.lowerBound..<split, isRoot: false, into: &out)
        let right = emit(values, split..<groups.upperBound, isRoot: false, into: &out)
        out.replaceSubrange(slot..<(slot + 32), with: left)
        out.replaceSubrange((slot + 32)..<(slot + 64), with: right)
        return parent(left, right, isRoot: isRoot)
    }

    /// Checks the subtree's nodes in pre-order from `cursor` against `expected`, filling the group values.
    private static func check(
        _ outboard: [UInt8], _ cursor: inout Int, _ groups: Range<Int>, expected: [UInt8], isRoot: Bool,
        into values: inout [UInt8]
    ) throws(BaoError) {
        if groups.count == 1 {
            values.replaceSubrange((groups.lowerBound * 32)..<(groups.lowerBound * 32 + 32), with: expected)
            return
        }
        let offset = cursor
        let left = Array(outboard[offset..<(offset + 32)])
        let right = Array(outboard[(offset + 32)..<(offset + 64)])
        guard parent(left, right, isRoot: isRoot) == expected else { throw .wrongNode(offset: offset) }
        cursor += 64
        let split = groups.lowerBound + Bao.leftGroups(groups.count)
        try check(outboard, &cursor, groups.lowerBound..<split, expected: left, isRoot: false, into: &values)
        try check(outboard, &cursor, split..<groups.upperBound, expected: right, isRoot: false, into: &values)
    }
}

/// Streaming BLAKE3 that keeps each 256 KiB group's chaining value as the bytes flow: one pass gives the
/// file's hash and its Bao tree, with no second read and memory of 32 bytes a group.
public struct BaoHasher: Sendable {
    private var group: BLAKE3Hasher
    private let firstGroup: Int
    private var groupIndex: Int
    private var inGroup = 0
    private var values: [UInt8] = []
    private var length: UInt64 = 0

    /// A hasher for a whole file.
    public init() { self.init(firstGroup: 0) }

    /// A hasher for bytes that start at group `firstGroup` of a file of two groups or more (a `Range` answer):
    /// ``groupValues()`` gives their groups' values to compare with the file's ``BaoTree``.
    public init(firstGroup: Int) {
        self.firstGroup = firstGroup
        self.groupIndex = firstGroup
        self.group = BLAKE3Hasher(subtreeStartingAtChunk: UInt64(firstGroup) * Bao.chunksPerGroup)
    }

    /// The non-root chaining value of every group begun so far (the last one as far as it goes), 32 bytes each.
    public func groupValues() -> [UInt8] {
        guard self.length > 0 else { return [] }
        return self.values + self.group.finalizeSubtree(isRoot: false)
    }

    /// Adds the next bytes of the file.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        var rest = bytes
        while !rest.isEmpty {
            if self.inGroup == Bao.groupSize {
                // More input follows a full group: it is not the only one, so its non-root value is final.
                self.values.append(contentsOf: self.group.finalizeSubtree(isRoot: false))
                self.groupIndex += 1
                self.inGroup = 0
                self.group.restartSubtree(atChunk: UInt64(self.groupIndex) * Bao.chunksPerGroup)
            }
            let take = min(rest.count, Bao.groupSize - self.inGroup)
            self.group.update(UnsafeRawBufferPointer(rebasing: rest[..<take]))
            self.inGroup += take
            self.length += UInt64(take)
            rest = UnsafeRawBufferPointer(rebasing: rest[take...])
        }
    }

    /// Adds the next bytes of the file.
    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { self.update($0) }
    }

    /// The bytes added so far.
    public var byteCount: UInt64 { self.length }

    /// The tree of everything added so far (the hasher may go on).
    /// For a hasher started at a later group, the tree is meaningless: use ``groupValues()``.
    public func finalize() -> BaoTree {
        if self.groupIndex == self.firstGroup {
            return BaoTree(trusted: self.length, groupChainingValues: [], root: self.group.finalizeSubtree(isRoot: true))
        }
        var values = self.values
        values.append(contentsOf: self.group.finalizeSubtree(isRoot: false))
        let root = BaoTree.subtreeValue(values, 0..<(self.groupIndex - self.firstGroup + 1), isRoot: true)
        return BaoTree(trusted: self.length, groupChainingValues: values, root: root)
    }
}
