import Foundation
import S5Core
import Verifier

/// `mirrorbot export --metalink`: the verified mirrors of every file, ranked by their hosts' standing.
public enum ExportMetalink {
    /// The files to export, from a store.
    /// - Parameters:
    ///   - store: the store.
    ///   - feed: only this feed; `nil` for all (then a name found in several feeds is prefixed with its feed).
    ///   - now: the current time (standings decay with age).
    /// - Returns: files with at least one verified URL; each URL's score is its mirror's standing.
    /// - Throws: `StoreError`.
    public static func files(from store: any MirrorStore, feed: String?, now: Date = Date()) async throws(StoreError)
        -> [ExportedFile]
    {
        let verified = try await store.verifiedFiles(feed: feed)
        let standings = try await store.mirrorStandings(now: now)
        let feedsByName = Dictionary(grouping: verified, by: \.name).mapValues { Set($0.map(\.feed)).count }
        return verified.map { file in
            let name = (feedsByName[file.name] ?? 1) > 1 ? "\(file.feed)/\(file.name)" : file.name
            let mirrors = file.urls.map { url, _ in
                // Standings are per mirror (scheme and authority); one without counted checks gets the standing of
                // no evidence (the prior: 0.25).
                ExportedFile.Mirror(url: url, score: MirrorOrigin.of(url).flatMap { standings[$0] }?.score ?? 0.25)
            }
            return ExportedFile(
                name: name, size: UInt64(max(0, file.size)), sha256Hex: hexString(file.sha256), mirrors: mirrors)
        }
    }

    /// The Metalink 4 document of a store's verified mirrors.
    /// - Parameters:
    ///   - store: the store.
    ///   - feed: only this feed; `nil` for all.
    ///   - now: the document's date and the standings' time.
    /// - Returns: the XML text.
    /// - Throws: `StoreError`.
    public static func document(from store: any MirrorStore, feed: String?, now: Date = Date()) async throws(StoreError)
        -> String
    {
        MetalinkExport.document(try await files(from: store, feed: feed, now: now), published: now)
    }
}
