import Testing

@testable import Distro

@Suite struct PoolFileTests {
    @Test(arguments: [
        ("pool/main/h/hello/hello_2.10-3_amd64.deb", true),
        ("/etc/passwd", false),
        ("pool/../../etc/passwd", false),
        ("pool//x.deb", false),
        ("./pool/x.deb", false),
        ("", false),
    ])
    func pathSafety(path: String, safe: Bool) {
        #expect((unsafePathReason(path) == nil) == safe)
    }
}
