// swift-tools-version: 6.1
import PackageDescription

// Data flows one way: feed → Crawler → Verifier → S5Peer. Crawler, Verifier and S5Peer never import
// each other; CrawlPass joins Crawler, Fetch and Verifier for one crawl pass, MirrorbotApp wires the rest, and the
// `mirrorbot` executable is a thin entry point.
let package = Package(
    name: "mirrorbot",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "mirrorbot", targets: ["mirrorbot"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-http2.git", from: "1.46.0"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.8.1"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/LebJe/TOMLKit.git", from: "0.6.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        // Thin system-library targets: a module map and a shim header each, nothing else.
        .systemLibrary(
            name: "CSodium", pkgConfig: "libsodium", providers: [.apt(["libsodium-dev"])]),
        .systemLibrary(
            name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(
            name: "COpenSSL", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(
            name: "CDistroFormats",
            providers: [.apt(["liblzma-dev", "zlib1g-dev", "libzstd-dev", "libarchive-dev"])]),

        // Our own BLAKE3 compression kernels (portable, SSE4.1, AVX2, AVX-512; picked at run time).
        // Always optimised: it is the crawler's hot path, even in debug builds.
        .target(
            name: "CBLAKE3",
            cSettings: [.unsafeFlags(["-O3"])]
        ),

        // Pure S5 types, encodings, hashes and keys. No I/O.
        .target(
            name: "S5Core",
            dependencies: ["CBLAKE3", "CSodium", "COpenSSL"]
        ),

        // The libcurl fetch engine: one multi loop, streaming hashes. Used by Crawler and Verifier.
        .target(
            name: "Fetch",
            dependencies: [
                "S5Core", "CCurl",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The small HTTP/1.1 mirror `mirrorbot demo` runs on 127.0.0.1: files from memory, validators, one Range.
        .target(
            name: "DemoMirror",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        // Distribution indexes (apt, RPM, Arch), their compression, mirror lists and signatures: formats, no network.
        .target(
            name: "Distro",
            dependencies: ["CDistroFormats"]
        ),
        .target(
            name: "Crawler",
            dependencies: [
                "S5Core", "Fetch", "Distro",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "TOMLKit", package: "TOMLKit"),
            ]
        ),
        .target(
            name: "Verifier",
            dependencies: [
                "S5Core", "Fetch",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        // The PostgreSQL adapter of Verifier's storage port (`MirrorStore`), for stores shared by several processes.
        .target(
            name: "PostgresStore",
            dependencies: [
                "Verifier", "S5Core",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        .target(
            name: "S5Peer",
            dependencies: [
                "S5Core",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "DequeModule", package: "swift-collections"),
            ]
        ),
        // One crawl pass over loaded feeds: due URLs, conditional requests, 304 re-judging, agreement, commits. It
        // takes a fetcher (the engine, or scripted answers in tests), the store and a clock.
        .target(
            name: "CrawlPass",
            dependencies: [
                "S5Core", "Fetch", "Crawler", "Verifier",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Wiring: configuration, commands' logic and `buildServices`, shared by the CLI and the tests.
        .target(
            name: "MirrorbotApp",
            dependencies: [
                "S5Core", "Fetch", "Crawler", "Verifier", "CrawlPass", "S5Peer", "DemoMirror", "PostgresStore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "TOMLKit", package: "TOMLKit"),
                .product(name: "Mustache", package: "swift-mustache"),
            ]
        ),
        .executableTarget(
            name: "mirrorbot",
            dependencies: [
                "MirrorbotApp",
                "Fetch",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            // Release builds allocate with mimalloc (Debian's libmimalloc-dev), which stands in for glibc's malloc
            // in the whole process, libcurl and SQLite included: a crawl's objects are made on one thread and freed
            // on another, and glibc's arenas made that about a tenth of its CPU (bench/crawl.md). Debug, test and
            // sanitizer builds keep the system's allocator, so the sanitizers still see every allocation.
            linkerSettings: [.linkedLibrary("mimalloc", .when(platforms: [.linux], configuration: .release))]
        ),

        // Loopback benchmark of the peer node (bench/peer/run.sh drives it).
        .executableTarget(
            name: "peerbench",
            dependencies: [
                "S5Peer", "S5Core",
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "bench/peer/peerbench"
        ),
        // Parses a distribution index file the way a crawl does (bench/distro/run.sh drives it).
        .executableTarget(
            name: "distrobench",
            dependencies: ["Distro"],
            path: "bench/distro/distrobench"
        ),

        // Test support, never linked into the product. The scriptable mirror of several modules' tests: hostile
        // routes, TLS, HTTP/2 (its honest content answers through DemoMirror's ContentAnswer).
        .target(
            name: "MirrorServer",
            dependencies: [
                "DemoMirror",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
            ],
            path: "Tests/MirrorServer"
        ),
        // The helpers every test target shares: `eventually`, sample bytes, time limits, loopback peer URIs.
        .target(name: "TestSupport", path: "Tests/TestSupport"),

        .testTarget(name: "S5CoreTests", dependencies: ["S5Core"]),
        .testTarget(
            name: "DemoMirrorTests", dependencies: ["DemoMirror", .product(name: "NIOHTTP1", package: "swift-nio")]),
        .testTarget(name: "FetchTests", dependencies: ["Fetch", "S5Core", "MirrorServer", "TestSupport"]),
        .testTarget(name: "CrawlerTests", dependencies: ["Crawler", "S5Core"]),
        // Test fixtures for distribution repositories (signing keys, apt/RPM/Arch repositories on disk): tests only.
        .target(name: "DistroFixtures", dependencies: ["Distro"], path: "Tests/DistroFixtures"),
        .testTarget(name: "DistroTests", dependencies: ["Distro", "DistroFixtures"]),
        .testTarget(
            name: "VerifierTests",
            dependencies: [
                "Verifier", "S5Core", "PostgresStore", "TestSupport", .product(name: "GRDB", package: "GRDB.swift"),
            ]),
        .testTarget(name: "PostgresStoreTests", dependencies: ["PostgresStore", "Verifier", "S5Core", "TestSupport"]),
        .testTarget(
            name: "S5PeerTests",
            dependencies: [
                "S5Peer", "S5Core", "TestSupport",
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
            ]
        ),
        .testTarget(
            name: "CrawlPassTests",
            dependencies: [
                "CrawlPass", "Crawler", "Fetch", "Verifier", "S5Core", "TestSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "MirrorbotAppTests",
            dependencies: [
                "MirrorbotApp", "S5Core", "Fetch", "Crawler", "Verifier", "MirrorServer", "DistroFixtures",
                "TestSupport", "PostgresStore",
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
    ]
)

// `MIRRORBOT_WITHOUT_POSTGRES=1` builds without the PostgreSQL adapter (`#if canImport(PostgresStore)`): the
// sanitizer builds of scripts/sanitize use it, since postgres-nio brings a second BoringSSL (swift-crypto) that takes
// minutes to compile under each sanitizer. Such a binary refuses a `postgres://` database with a clear error.
if Context.environment["MIRRORBOT_WITHOUT_POSTGRES"] == "1" {
    package.targets.removeAll { $0.name == "PostgresStore" || $0.name == "PostgresStoreTests" }
    for target in package.targets {
        target.dependencies.removeAll { dependency in
            if case .byNameItem(name: "PostgresStore", _) = dependency { return true }
            return false
        }
    }
}

// `MIRRORBOT_SYSTEM_MALLOC=1` links a release binary without mimalloc, on glibc's malloc (no libmimalloc at build or
// run time), for a packager who would rather not add the library; bench/crawl.md says what it costs on small files.
if Context.environment["MIRRORBOT_SYSTEM_MALLOC"] == "1" {
    for target in package.targets where target.name == "mirrorbot" {
        target.linkerSettings?.removeAll()  // mimalloc is its only linker setting
    }
}
