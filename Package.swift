// swift-tools-version:6.1
import PackageDescription

/// Settings every Swift target shares: Swift 6 mode, every `any` spelled out.
let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

/// The client's settings: `strict`, and a nonisolated async function runs on its caller's executor
/// (SE-0461) instead of hopping to the generic one. Every hop on the request path asks the runtime
/// for the task's executor preference under a lock; a caller on the loop made several per request.
let client: [SwiftSetting] = strict + [.enableUpcomingFeature("NonisolatedNonsendingByDefault")]

let package = Package(
    name: "swift-glide",
    products: [
        .library(name: "Glide", targets: ["Glide"]),
        .library(name: "GlideBuffers", targets: ["GlideBuffers"]),
        .library(name: "GlideRESPCodec", targets: ["GlideRESPCodec"]),
        .library(name: "GlideTransport", targets: ["GlideTransport"]),
        .library(name: "GlideTLS", targets: ["GlideTLS"]),
        .library(name: "GlideCompression", targets: ["GlideCompression"]),
        .library(name: "GlideTopology", targets: ["GlideTopology"]),
        .library(name: "GlideCommands", targets: ["GlideCommands"]),
        .library(name: "GlideRouter", targets: ["GlideRouter"]),
        .library(name: "GlideConnection", targets: ["GlideConnection"]),
        .library(name: "GlideClient", targets: ["GlideClient"]),
        .executable(name: "quickstart", targets: ["quickstart"]),
        .executable(name: "cluster", targets: ["cluster"]),
        .executable(name: "pubsub", targets: ["pubsub"]),
        .executable(name: "transactions", targets: ["transactions"]),
        .executable(name: "tls", targets: ["tls"]),
        .executable(name: "distributed-lock", targets: ["distributed-lock"]),
        .executable(name: "rate-limiter", targets: ["rate-limiter"]),
        .executable(name: "job-queue", targets: ["job-queue"]),
        .executable(name: "leaderboard", targets: ["leaderboard"]),
        .executable(name: "session-store", targets: ["session-store"]),
        .executable(name: "cache-aside", targets: ["cache-aside"]),
        .executable(name: "large-values", targets: ["large-values"]),
        .executable(name: "glide-cli", targets: ["glide-cli"]),
        .executable(name: "custom-client", targets: ["custom-client"]),
        .executable(name: "glide-benchmark", targets: ["glide-benchmark"]),
        .executable(name: "glide-microbench", targets: ["glide-microbench"]),
        .executable(name: "glide-fuzz", targets: ["glide-fuzz"]),
    ],
    targets: [
        // Library modules, lowest layer first. See Docs/architecture.md for the import rules.
        .target(name: "GlideBuffers", path: "Modules/Buffers", swiftSettings: strict),
        .target(name: "GlideRESPCodec", dependencies: ["GlideBuffers"], path: "Modules/RESPCodec", swiftSettings: strict),
        .target(name: "CGlideSystem", path: "Modules/CGlideSystem"),
        .target(
            name: "GlideTransport", dependencies: ["GlideBuffers", "CGlideSystem"],
            path: "Modules/Transport", swiftSettings: strict),
        // The system's OpenSSL (libssl-dev): headers plus the few macros Swift can't call.
        .target(
            name: "CGlideTLS", path: "Modules/TLS/CGlideTLS",
            linkerSettings: [.linkedLibrary("ssl"), .linkedLibrary("crypto")]),
        .target(
            name: "GlideTLS", dependencies: ["GlideTransport", "CGlideTLS"], path: "Modules/TLS/GlideTLS",
            swiftSettings: strict),
        // The system's zstd and lz4 (libzstd-dev, liblz4-dev), and values compressed with them in
        // GLIDE's format.
        .target(
            name: "CGlideCompression", path: "Modules/Compression/CGlideCompression",
            linkerSettings: [.linkedLibrary("zstd"), .linkedLibrary("lz4")]),
        .target(
            name: "GlideCompression", dependencies: ["GlideBuffers", "CGlideCompression"],
            path: "Modules/Compression/GlideCompression", swiftSettings: strict),
        .target(
            name: "GlideTopology", dependencies: ["GlideBuffers", "GlideRESPCodec", "GlideTransport"], path: "Modules/Topology",
            swiftSettings: strict),
        .target(
            name: "GlideCommands", dependencies: ["GlideRESPCodec"], path: "Modules/Commands",
            exclude: ["Resources"], swiftSettings: strict),
        .target(
            name: "GlideRouter", dependencies: ["GlideBuffers", "GlideRESPCodec", "GlideTopology", "GlideCommands"], path: "Modules/Router",
            swiftSettings: strict),
        // One node's supervised, pipelined connection: what custom clients are built on.
        .target(
            name: "GlideConnection", dependencies: ["GlideBuffers", "GlideRESPCodec", "GlideTransport", "GlideTLS"],
            path: "Modules/Connection", swiftSettings: client),
        // Writes Modules/Commands/Generated from the snapshot in Modules/Commands/Resources (`make generate`).
        .executableTarget(name: "CommandsGenerator", path: "Modules/CommandsGenerator"),
        .target(
            name: "GlideClient",
            dependencies: [
                "GlideBuffers", "GlideRESPCodec", "GlideTransport", "GlideTLS", "GlideCompression", "GlideTopology", "GlideCommands",
                "GlideRouter", "GlideConnection",
            ],
            path: "Modules/Client", swiftSettings: client),
        .target(name: "Glide", dependencies: ["GlideClient", "GlideCommands"], path: "Modules/Glide", swiftSettings: strict),

        // Example programs.
        .executableTarget(name: "quickstart", dependencies: ["Glide", "GlideClient"], path: "Examples/quickstart", swiftSettings: strict),
        .executableTarget(name: "cluster", dependencies: ["Glide", "GlideClient"], path: "Examples/cluster", swiftSettings: strict),
        .executableTarget(name: "pubsub", dependencies: ["Glide", "GlideClient"], path: "Examples/pubsub", swiftSettings: strict),
        .executableTarget(
            name: "transactions", dependencies: ["Glide", "GlideClient"], path: "Examples/transactions", swiftSettings: strict),
        .executableTarget(name: "tls", dependencies: ["Glide", "GlideClient"], path: "Examples/tls", swiftSettings: strict),
        .executableTarget(
            name: "distributed-lock", dependencies: ["Glide", "GlideClient"], path: "Examples/distributed-lock", swiftSettings: strict),
        .executableTarget(
            name: "rate-limiter", dependencies: ["Glide", "GlideClient"], path: "Examples/rate-limiter", swiftSettings: strict),
        .executableTarget(name: "job-queue", dependencies: ["Glide", "GlideClient"], path: "Examples/job-queue", swiftSettings: strict),
        .executableTarget(
            name: "leaderboard", dependencies: ["Glide", "GlideClient"], path: "Examples/leaderboard", swiftSettings: strict),
        .executableTarget(
            name: "session-store", dependencies: ["Glide", "GlideClient"], path: "Examples/session-store", swiftSettings: strict),
        .executableTarget(
            name: "cache-aside", dependencies: ["Glide", "GlideClient"], path: "Examples/cache-aside", swiftSettings: strict),
        .executableTarget(
            name: "large-values", dependencies: ["Glide", "GlideClient"], path: "Examples/large-values", swiftSettings: strict),
        .executableTarget(name: "glide-cli", dependencies: ["Glide", "GlideClient"], path: "Examples/glide-cli", swiftSettings: strict),
        .executableTarget(
            name: "custom-client", dependencies: ["Glide", "GlideConnection"], path: "Examples/custom-client", swiftSettings: strict),
        .executableTarget(
            name: "glide-benchmark", dependencies: ["Glide", "GlideClient"], path: "Examples/glide-benchmark", swiftSettings: client),
        // Counts heap allocations by interposing malloc; linked into glide-microbench only.
        .target(name: "CAllocationCounter", path: "Examples/CAllocationCounter"),
        .executableTarget(
            name: "glide-microbench",
            dependencies: ["Glide", "GlideCommands", "GlideConnection", "GlideRESPCodec", "GlideRouter", "CAllocationCounter"],
            path: "Examples/glide-microbench",
            swiftSettings: strict),

        // Test support: starts real servers on free loopback ports (Foundation is fine here).
        .target(name: "GlideTestSupport", dependencies: ["Glide", "GlideClient"], path: "Tests/GlideTestSupport", swiftSettings: strict),

        // The fuzz targets, and the libFuzzer binary that runs them (`make fuzz`; Docs/resilience.md).
        .target(
            name: "GlideFuzzTargets",
            dependencies: [
                "GlideBuffers", "GlideRESPCodec", "GlideTransport", "GlideTopology", "GlideConnection", "GlideClient", "GlideCompression",
            ],
            path: "Tests/GlideFuzzTargets", swiftSettings: strict),
        .executableTarget(
            name: "glide-fuzz", dependencies: ["GlideFuzzTargets"], path: "Tests/GlideFuzz", exclude: ["Corpus"], swiftSettings: strict),

        // One unit-test target per module (no sockets), then the integration targets (real servers).
        .testTarget(name: "GlideBuffersTests", dependencies: ["GlideBuffers"], swiftSettings: strict),
        .testTarget(name: "GlideRESPCodecTests", dependencies: ["GlideRESPCodec"], swiftSettings: strict),
        .testTarget(name: "GlideTransportTests", dependencies: ["GlideTransport"], swiftSettings: strict),
        .testTarget(name: "GlideTLSTests", dependencies: ["GlideTLS", "CGlideTLS"], swiftSettings: strict),
        .testTarget(name: "GlideCompressionTests", dependencies: ["GlideCompression"], swiftSettings: strict),
        .testTarget(name: "GlideTopologyTests", dependencies: ["GlideTopology"], swiftSettings: strict),
        .testTarget(name: "GlideRouterTests", dependencies: ["GlideRouter"], swiftSettings: strict),
        .testTarget(name: "GlideCommandsTests", dependencies: ["GlideCommands", "CommandsGenerator"], swiftSettings: strict),
        .testTarget(
            name: "GlideClientTests",
            dependencies: ["GlideClient", "GlideConnection", "GlideTransport", "GlideRESPCodec", "GlideFuzzTargets"],
            swiftSettings: strict),
        .testTarget(
            name: "GlideIntegrationTests", dependencies: ["Glide", "GlideClient", "GlideConnection", "GlideTransport", "GlideTestSupport"],
            swiftSettings: strict),
    ]
)
