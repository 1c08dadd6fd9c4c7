// swift-tools-version: 6.0
import PackageDescription

// Debian's multiarch directory, where glib keeps glibconfig.h (see COSInfo).
#if arch(arm64)
    let multiarch = "aarch64-linux-gnu"
#else
    let multiarch = "x86_64-linux-gnu"
#endif

let package = Package(
    name: "vm-install",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "vm-install", targets: ["vm-install"]),
        .executable(name: "vm-install-jobs", targets: ["vm-install-jobs"]),
        .library(name: "VMInstallKit", targets: ["VMInstallKit"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        .package(url: "https://github.com/swiftlang/swift-subprocess", from: "1.0.2"),
    ],
    targets: [
        // Linux declarations that Glibc's Swift module does not expose (statx, signalfd, spawn flags).
        .target(name: "CShims"),
        // libvirt's headers (Debian's libvirt-dev, in /usr/include: `pkg-config --cflags libvirt`
        // is empty). The library is loaded with dlopen on first use (clibvirt.h), not linked:
        // pkg-config's -lvirt would load it into every start of vm-install-jobs.
        .systemLibrary(name: "CLibvirt", providers: [.apt(["libvirt-dev"])]),
        // libosinfo (Debian's libosinfo-1.0-dev), behind a header without glib: cosinfo.c alone
        // sees libosinfo's and glib's headers, and reaches each function through a pointer
        // dlsym'd from a dlopen'd libosinfo, typed by the real declaration. pkg-config's -l
        // flags would load libosinfo, glib and some twenty more libraries into every start
        // of both tools, and its -I flags would have to reach every Swift target that imports
        // VMInstallKit; these are the -I flags of `pkg-config --cflags libosinfo-1.0`.
        .target(
            name: "COSInfo",
            cSettings: [
                .unsafeFlags([
                    "-I/usr/include/libosinfo-1.0", "-I/usr/include/glib-2.0",
                    "-I/usr/lib/\(multiarch)/glib-2.0/include",
                ])
            ]
        ),
        // All behaviour: job store, state machine, runner, hypervisor drivers, disks.
        .target(
            name: "VMInstallKit",
            dependencies: [
                "CShims",
                "CLibvirt",
                "COSInfo",
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "Subprocess", package: "swift-subprocess"),
            ]
        ),
        // The command-line surface of both tools, one file per command.
        .target(
            name: "VMInstallCommands",
            dependencies: [
                "VMInstallKit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(name: "vm-install", dependencies: ["VMInstallCommands"]),
        .executableTarget(name: "vm-install-jobs", dependencies: ["VMInstallCommands"]),
        // Benchmarks are programs, not tests: see Benchmarks/README.md.
        .executableTarget(
            name: "vm-install-watch-benchmark", dependencies: ["VMInstallKit"],
            path: "Benchmarks/WatchBenchmark"),
        .executableTarget(
            name: "vm-install-placement-benchmark", dependencies: ["VMInstallKit"],
            path: "Benchmarks/PlacementBenchmark"),
        .testTarget(name: "VMInstallKitTests", dependencies: ["VMInstallKit"]),
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "VMInstallKit", "vm-install", "vm-install-jobs",
                .product(name: "Subprocess", package: "swift-subprocess"),
            ]
        ),
    ]
)
