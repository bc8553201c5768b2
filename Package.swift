// swift-tools-version: 6.0
// SheetNet: train tiny networks and show every number of a training step.
import PackageDescription

let package = Package(
  name: "SheetNet",
  platforms: [.macOS(.v13)],
  products: [
    .library(name: "SheetNet", targets: ["SheetNet"]),
    .executable(name: "sheetnet", targets: ["sheetnet"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
  ],
  targets: [
    // OpenBLAS through pkg-config; only Sources/SheetNet/Kernels.swift imports it.
    .systemLibrary(
      name: "CBLAS", path: "Sources/CBLAS", pkgConfig: "openblas",
      providers: [.apt(["libopenblas-dev"])]),
    // The engine: tensors, kernels, layers, losses, optimizers, model, training, data, lessons.
    .target(
      name: "SheetNet",
      dependencies: ["CBLAS", .product(name: "Yams", package: "Yams")],
      resources: [.copy("Resources/digits-8x8.csv"), .copy("Resources/iris.csv")],
      // The engine is numerical code: optimise it in debug builds too, so tests train real
      // lessons in seconds. (Numbers do not change: no fast-math, no reassociation.)
      swiftSettings: [.unsafeFlags(["-O"])]),
    // The record of one training step: choosing the step, terminal rendering, JSON, gradient check.
    .target(name: "SheetNetTrace", dependencies: ["SheetNet"]),
    // Cairo through pkg-config; only Sources/CairoKit imports it.
    .systemLibrary(
      name: "CCairo", path: "Sources/CCairo", pkgConfig: "cairo",
      providers: [.apt(["libcairo2-dev"])]),
    // Figure logic against a Canvas protocol: colormaps, layout, the catalogue. Never imports Cairo.
    .target(name: "SheetNetFigures", dependencies: ["SheetNet"]),
    // The Cairo wrapper: surfaces, context, typed errors, and the Canvas adapter.
    .target(name: "CairoKit", dependencies: ["CCairo", "SheetNetFigures"]),
    // The command line.
    .executableTarget(
      name: "sheetnet",
      dependencies: ["SheetNet", "SheetNetTrace", "SheetNetFigures", "CairoKit", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
    // Benchmarks (make bench).
    .executableTarget(name: "sheetnet-bench", dependencies: ["SheetNet"], path: "Benchmarks/Swift"),
    .testTarget(name: "SheetNetTests", dependencies: ["SheetNet", "SheetNetTrace", "sheetnet"], exclude: ["Snapshots"]),
    .testTarget(
      name: "SheetNetFiguresTests", dependencies: ["SheetNet", "SheetNetFigures", "CairoKit"],
      exclude: ["References", "Lessons"]),
  ],
  swiftLanguageModes: [.v6]
)
