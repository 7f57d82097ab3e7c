import Foundation
import S5Core
import S5Peer

@testable import MirrorbotApp

/// A provider node on 127.0.0.1 (not yet running) that offers each hash at its URL for ten minutes, and its key.
/// - Parameters:
///   - offers: hash and the URL offered for it (location type 3).
///   - network: the P2P network id, nil for the default.
func providerServer(offering offers: [(Multihash, String)], network: String? = nil) throws -> (
    server: PeerServer, key: KeyPair
) {
    let networkLine = network.map { "\nnetwork = \"\($0)\"" } ?? ""
    var configuration = try Configuration(toml: "[p2p]\nlisten = \"127.0.0.1:0\"" + networkLine)
    let key = KeyPair.generate()
    configuration.keyPair = key
    let provider = InMemoryLocalProvider(keyPair: key)
    let expiry = UInt32(Date().timeIntervalSince1970) + 600
    for (hash, url) in offers {
        provider.provide([hash], at: LocalLocation(locationType: 3, parts: [url], expiry: expiry))
    }
    let server = NodeServices.makePeerServer(
        configuration: configuration, keyPair: key, localProvider: provider, logger: samplerTestLogger())
    return (server, key)
}
