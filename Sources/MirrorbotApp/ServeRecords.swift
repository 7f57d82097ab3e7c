import Foundation
import Verifier

/// Feeds ``OwnRecords`` from the crawl store: every verified URL, scored by its host's standing.
public enum ServeRecords {
    /// The store's verified links, each scored by its mirror host's standing (checks of runs that count) and
    /// marked ``VerifiedLink/offersFull`` when the file is at most 256 KiB, or when the store keeps its Bao tree
    /// and the probe of its mirror (``MirrorOrigin``) found that it honours `Range`.
    /// - Parameters:
    ///   - store: the crawl store.
    ///   - now: the current time.
    /// - Returns: the links, ready for ``OwnRecords/replace(with:)``.
    /// - Throws: `StoreError.database`.
    public static func links(from store: any MirrorStore, now: Date = Date()) async throws(StoreError) -> [VerifiedLink]
    {
        let urls = try await store.verifiedURLs()
        let standings = try await store.mirrorStandings(now: now)
        let unknown = MirrorStanding(checks: [], now: now).score
        let trees = try await store.baoTreeRoots()
        let ranges = try await store.rangeSupport()
        return urls.map { url in
            let size = UInt64(max(0, url.size))
            let honoursRange = MirrorOrigin.of(url.url).flatMap { ranges[$0] }?.honours == true
            return VerifiedLink(
                blake3: url.blake3, sha256: url.sha256, size: size, url: url.url,
                verifiedAt: Date(timeIntervalSince1970: TimeInterval(url.verifiedAt)),
                mirrorScore: MirrorOrigin.of(url.url).flatMap { standings[$0] }?.score ?? unknown,
                offersFull: VerifiedLink.canOfferFull(
                    size: size, hasTree: trees.contains(url.blake3), honoursRange: honoursRange))
        }
    }

    /// Replaces the records on offer with the store's current verified set: a URL that failed its last
    /// check stops being offered at once.
    /// - Parameters:
    ///   - records: our records.
    ///   - store: the crawl store.
    ///   - now: the current time.
    /// - Returns: the number of links loaded.
    /// - Throws: `StoreError.database`.
    @discardableResult
    public static func refresh(_ records: OwnRecords, from store: any MirrorStore, now: Date = Date())
        async throws(StoreError)
        -> Int
    {
        let links = try await links(from: store, now: now)
        records.replace(with: links)
        return links.count
    }
}
