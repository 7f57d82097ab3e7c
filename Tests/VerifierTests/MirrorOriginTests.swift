import Foundation
import S5Core
import Testing

@testable import Verifier

@Suite struct MirrorOriginTests {
    @Test(arguments: [
        ("http://Example.COM:8080/pool/a.deb", "http://example.com:8080"),
        ("HTTPS://user:secret@Mirror.example/x?y=1", "https://mirror.example"),
        ("https://mirror.example?list", "https://mirror.example"),
        ("https://mirror.example#top", "https://mirror.example"),
        ("https://a@b@mirror.example/", "https://mirror.example"),
        ("https://[2001:DB8::1]:443/f", "https://[2001:db8::1]:443"),
        ("https://Bücher.example/x", "https://bücher.example"),
    ])
    func originOfAnHTTPURL(url: String, origin: String) {
        #expect(MirrorOrigin.of(url) == origin)
    }

    @Test(arguments: ["ftp://mirror.example/x", "https:///x", "https://user@/x", "mirror.example/x", "", "http:/x"])
    func noOriginForOtherText(url: String) {
        #expect(MirrorOrigin.of(url) == nil)
    }

    /// The byte-wise parse answers as the same steps on characters do (``characterOrigin``), on text made of the
    /// characters that matter (scheme letters in both cases, separators, userinfo, ports, letters beyond ASCII
    /// whose lower case is Unicode's).
    @Test func bytePathAgreesWithCharacterPath() {
        let alphabet = Array("hHtTpPsS:/?#@aZ.1Üİ")
        var random = SplitMix64(seed: 13)
        for _ in 0..<20_000 {
            let length = Int(random.next() % 16)
            let text = String((0..<length).map { _ in alphabet[Int(random.next() % UInt64(alphabet.count))] })
            for url in [text, "http://" + text, "HTTPS://" + text] {
                #expect(MirrorOrigin.of(url) == Self.characterOrigin(url), "\(url)")
            }
        }
    }

    /// The origin by Character steps: the reference the byte-wise parse is held to.
    static func characterOrigin(_ url: String) -> String? {
        guard let separator = url.range(of: "://") else { return nil }
        let scheme = url[..<separator.lowerBound].lowercased()
        guard scheme == "http" || scheme == "https" else { return nil }
        var authority = url[separator.upperBound...].prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        guard !authority.isEmpty else { return nil }
        return "\(scheme)://\(authority.lowercased())"
    }
}
