import Foundation
import S5Core
import Testing

@testable import Verifier

@Suite(.timeLimit(.minutes(1)))
struct StoreScoreBookTests {
    private func temporaryPath() throws -> (folder: URL, path: String) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("scorebook-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return (folder, folder.appendingPathComponent("store.sqlite").path)
    }

    @Test func votesPersistAcrossReopen() async throws {
        let (folder, path) = try temporaryPath()
        defer { try? FileManager.default.removeItem(at: folder) }
        let a = KeyPair.generate().nodeID
        let b = KeyPair.generate().nodeID
        do {
            let book = try await StoreScoreBook.open(store: try Store(path: path))
            #expect(book.counts(for: a) == (0, 0))
            for _ in 0..<3 { book.vote(a, up: true) }
            book.vote(a, up: false)
            book.vote(b, up: false)
            #expect(book.counts(for: a) == (3, 1))
            try await book.flush()
        }
        let reopened = try await StoreScoreBook.open(store: try Store(path: path))
        #expect(reopened.counts(for: a) == (3, 1))
        #expect(reopened.counts(for: b) == (0, 1))
        #expect(reopened.all().map(\.nodeID) == [a, b])
        #expect(reopened.all().first?.score == s5Score(good: 3, bad: 1))
        // More votes add to the stored counts.
        reopened.vote(b, up: true)
        try await reopened.flush()
        let third = try await StoreScoreBook.open(store: try Store(path: path))
        #expect(third.counts(for: b) == (1, 1))
        #expect(third.counts(for: a) == (3, 1))
    }

    @Test func votesCastWhileLoadingAreNeitherLostNorCountedTwice() async throws {
        let (folder, path) = try temporaryPath()
        defer { try? FileManager.default.removeItem(at: folder) }
        let a = KeyPair.generate().nodeID
        let first = try await StoreScoreBook.open(store: try Store(path: path))
        for _ in 0..<5 { first.vote(a, up: true) }
        try await first.flush()
        // The synchronous initializer loads in the background; votes right away are merged, written once.
        let book = StoreScoreBook(store: try Store(path: path))
        book.vote(a, up: false)
        book.vote(a, up: true)
        try await book.flush()
        #expect(book.isLoaded)
        #expect(book.counts(for: a) == (6, 1))
        let reopened = try await StoreScoreBook.open(store: try Store(path: path))
        #expect(reopened.counts(for: a) == (6, 1))
    }

    @Test func boundedByCapacity() async throws {
        let store = try Store(path: ":memory:")
        let book = try await StoreScoreBook.open(store: store, capacity: 2)
        let nodes = (0..<3).map { _ in KeyPair.generate().nodeID }
        for node in nodes { book.vote(node, up: true) }
        book.vote(nodes[0], up: true)
        try await book.flush()
        #expect(book.counts(for: nodes[0]) == (2, 0))
        #expect(book.counts(for: nodes[2]) == (0, 0))
        let reopened = try await StoreScoreBook.open(store: store)
        #expect(reopened.all().count == 2)
        #expect(reopened.counts(for: nodes[1]) == (1, 0))
    }

    @Test func manyConcurrentVotesAllArrive() async throws {
        let store = try Store(path: ":memory:")
        let book = try await StoreScoreBook.open(store: store)
        let nodes = (0..<20).map { _ in KeyPair.generate().nodeID }
        await withTaskGroup(of: Void.self) { group in
            for (i, node) in nodes.enumerated() {
                group.addTask { for k in 0..<50 { book.vote(node, up: (k + i) % 3 != 0) } }
            }
        }
        try await book.flush()
        let reopened = try await StoreScoreBook.open(store: store)
        for node in nodes {
            let c = reopened.counts(for: node)
            #expect(c.good + c.bad == 50)
            #expect(c == book.counts(for: node))
        }
    }
}
