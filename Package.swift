// swift-tools-version: 6.0
// SheetNet: train tiny networks and show every number of a training step.
import Foundation
import PackageDescription

/// SheetNet's own builds (the Makefile exports SHEETNET_DEV=1: `make build`, `test`, `release`,
/// `bench`, `fuzz`) optimise the engine in debug builds too and target this machine's CPU, below.
/// A package that depends on SheetNet sets neither, so it gets plain, portable settings and no
/// unsafe flags (SwiftPM refuses unsafe flags in a dependency fetched by URL).
let developing = ProcessInfo.processInfo.environment["SHEETNET_DEV"] == "1"

/// In SheetNet's own builds, every target is compiled for the widest vector set this machine has, read from /proc/cpuinfo:
/// AVX-512 (`-target-cpu skylake-avx512`) when it lists avx512f/dq/bw/vl/cd and the AVX2 set,
/// else AVX2 with fused multiply-add (`haswell`: the x86-64-v3 set, a name swiftc does not take),
/// else baseline x86-64; other architectures keep their baseline (ARM64 always has fma).
/// The numbers never depend on it: the kernels use no reassociation, and fma gives the same
/// correctly rounded result from the CPU or from the C library. SHEETNET_TARGET_CPU overrides
/// it (a swiftc CPU name, or `baseline`), e.g. for a binary that must run on older machines.
let targetCPU: (flags: [String], define: String) = {
  let named = ProcessInfo.processInfo.environment["SHEETNET_TARGET_CPU"]
  if let named { return named.isEmpty || named == "baseline" ? ([], "SHEETNET_CPU_BASELINE") : (["-target-cpu", named], "SHEETNET_CPU_NAMED") }
  #if arch(x86_64)
  let line = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
    .split(separator: "\n").first { $0.hasPrefix("flags") } ?? ""
  let flags = Set(line.split(separator: " ").map(String.init))
  guard ["avx2", "fma", "bmi1", "bmi2", "f16c", "movbe"].allSatisfy(flags.contains) else { return ([], "SHEETNET_CPU_BASELINE") }
  if ["avx512f", "avx512dq", "avx512bw", "avx512vl", "avx512cd"].allSatisfy(flags.contains) {
    return (["-target-cpu", "skylake-avx512"], "SHEETNET_CPU_AVX512")
  }
  return (["-target-cpu", "haswell"], "SHEETNET_CPU_AVX2")
  #else
  return ([], "SHEETNET_CPU_BASELINE")
  #endif
}()

/// Settings every SheetNet target shares: the CPU above, in SheetNet's own builds only.
let cpuSettings: [SwiftSetting] = developing ? [.unsafeFlags(targetCPU.flags), .define(targetCPU.define)] : []

/// The engine is numerical code: in SheetNet's own builds it is optimised in debug builds too, so
/// tests train real lessons in seconds. (Numbers do not change: no fast-math, no reassociation.)
let engineSettings: [SwiftSetting] = (developing ? [.unsafeFlags(["-O"])] : []) + cpuSettings

let package = Package(
  name: "SheetNet",
  platforms: [.macOS(.v13)],
  products: [
    // The engine; one training step as a record with its text and JSON views; lecture figures
    // (against a Canvas protocol) with their Cairo renderer.
    .library(name: "SheetNet", targets: ["SheetNet"]),
    .library(name: "SheetNetTrace", targets: ["SheetNetTrace"]),
    .library(name: "SheetNetFigures", targets: ["SheetNetFigures", "CairoKit"]),
    .executable(name: "sheetnet", targets: ["sheetnet"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
    .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.19"),
    // `swift package generate-documentation --target SheetNet`: the DocC catalogue in
    // Sources/SheetNet/SheetNet.docc (a plugin only; nothing of it is linked).
    .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.4.0"),
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
      swiftSettings: engineSettings),
    // The record of one training step: choosing the step, terminal rendering, JSON, gradient check.
    .target(name: "SheetNetTrace", dependencies: ["SheetNet"], swiftSettings: cpuSettings),
    // One traced step as worksheets: CSV files and an XLSX workbook of live formulas (the zip
    // container from ZIPFoundation, the XML written here).
    .target(
      name: "SheetNetWorksheets",
      dependencies: ["SheetNet", "SheetNetTrace", .product(name: "ZIPFoundation", package: "ZIPFoundation")],
      swiftSettings: cpuSettings),
    // Cairo through pkg-config; only Sources/CairoKit imports it.
    .systemLibrary(
      name: "CCairo", path: "Sources/CCairo", pkgConfig: "cairo",
      providers: [.apt(["libcairo2-dev"])]),
    // Figure logic against a Canvas protocol: colormaps, layout, the catalogue. Never imports Cairo.
    .target(name: "SheetNetFigures", dependencies: ["SheetNet"], swiftSettings: cpuSettings),
    // The Cairo wrapper: surfaces, context, typed errors, and the Canvas adapter.
    .target(name: "CairoKit", dependencies: ["CCairo", "SheetNet", "SheetNetFigures"], swiftSettings: cpuSettings),
    // The command line.
    .executableTarget(
      name: "sheetnet",
      dependencies: ["SheetNet", "SheetNetTrace", "SheetNetWorksheets", "SheetNetFigures", "CairoKit", .product(name: "ArgumentParser", package: "swift-argument-parser")],
      swiftSettings: cpuSettings),
    // Benchmarks (make bench).
    .executableTarget(name: "sheetnet-bench", dependencies: ["SheetNet"], path: "Benchmarks/Swift", swiftSettings: cpuSettings),
    // Fuzzing (make fuzz, Fuzz/README.md): libFuzzer entry points for lessons, CSV, model.json and
    // IDX when built with -sanitize=fuzzer -DSHEETNET_FUZZ; otherwise a replayer of saved inputs.
    .executableTarget(name: "sheetnet-fuzz", dependencies: ["SheetNet"], path: "Fuzz/Sources", swiftSettings: cpuSettings),
    .testTarget(name: "SheetNetTests", dependencies: ["SheetNet", "SheetNetTrace", "sheetnet"], exclude: ["Snapshots"], swiftSettings: cpuSettings),
    .testTarget(
      name: "SheetNetWorksheetsTests",
      dependencies: ["SheetNet", "SheetNetTrace", "SheetNetWorksheets", "SheetNetFigures", "CairoKit", "sheetnet", .product(name: "ZIPFoundation", package: "ZIPFoundation")],
      exclude: ["recalc.py"], swiftSettings: cpuSettings),
    .testTarget(
      name: "SheetNetFiguresTests", dependencies: ["SheetNet", "SheetNetFigures", "CairoKit"],
      exclude: ["References", "Lessons"], swiftSettings: cpuSettings),
  ],
  swiftLanguageModes: [.v6]
)
