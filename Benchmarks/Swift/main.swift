import Foundation
import SheetNet

// sheetnet-bench: ms per training step (MLPs, CNNs, the shipped lessons untraced and traced),
// matrix-product GFLOP/s, and whole `sheetnet figure` processes; release build, one thread.
//
//   sheetnet-bench [--json] [--filter TEXT]… [--repetitions N] [--quick] [--wall] [--list]
//                  [--iterations N]
//
// Each case is warmed up, then timed over N repetitions (default 15) of enough iterations to
// last about 20 ms, the cases' repetitions interleaved; the table shows the median and the
// fastest repetition. Times are this thread's CPU time unless --wall (see `Clock`); figure cases
// time each child process on the wall clock, one per repetition.
// `make bench` runs it.

let usage = """
  usage: sheetnet-bench [--json] [--filter TEXT]... [--repetitions N] [--quick] [--wall] [--list]
                        [--iterations N]
    --json             print machine-readable results (for Benchmarks/compare.py)
    --filter TEXT      only cases whose id contains TEXT (repeatable: any of them;
                       TEXT$ matches the end of the id)
    --repetitions N    repetitions per case (default 15); the median is reported
    --quick            5 repetitions of about 5 ms each (a smoke run)
    --wall             time with the wall clock instead of this thread's CPU time
    --list             print the case ids and exit
    --iterations N     run each case exactly N times untimed and exit: for instruction
                       counts under valgrind (see Benchmarks/trace_overhead.py)
  """

var settings = Settings()
var json = false, list = false
var fixedIterations: Int? = nil
var filters: [String] = []
var arguments = CommandLine.arguments.dropFirst()
while let arg = arguments.popFirst() {
  switch arg {
  case "--json": json = true
  case "--list": list = true
  case "--wall": settings.clock = .wall
  case "--quick": settings.repetitions = 5; settings.repetitionSeconds = 0.005; settings.warmUpSeconds = 0.05
  case "--filter":
    guard let f = arguments.popFirst() else { FileHandle.standardError.write(Data("--filter needs a text\n\(usage)\n".utf8)); exit(2) }
    filters.append(f)
  case "--repetitions":
    guard let s = arguments.popFirst(), let n = Int(s), n > 0 else {
      FileHandle.standardError.write(Data("--repetitions needs a whole number ≥ 1\n\(usage)\n".utf8)); exit(2)
    }
    settings.repetitions = n
  case "--iterations":
    guard let s = arguments.popFirst(), let n = Int(s), n >= 0 else {
      FileHandle.standardError.write(Data("--iterations needs a whole number ≥ 0\n\(usage)\n".utf8)); exit(2)
    }
    fixedIterations = n
  case "-h", "--help": print(usage); exit(0)
  default: FileHandle.standardError.write(Data("unknown option '\(arg)'\n\(usage)\n".utf8)); exit(2)
  }
}

/// A case matches a filter that its id contains; a filter ending in `$` must end the id.
func matches(_ id: String, _ filter: String) -> Bool {
  filter.hasSuffix("$") ? id.hasSuffix(filter.dropLast()) : id.contains(filter)
}
let cases = allCases().filter { c in filters.isEmpty || filters.contains { matches(c.id, $0) } }
if list {
  for c in cases { print(c.id) }
  exit(0)
}
// A fixed amount of work, no clock: instructions per step = (count(2N) − count(N)) / N.
if let n = fixedIterations {
  do {
    for c in cases {
      let body = try c.prepare()
      for _ in 0..<n { body() }
    }
  } catch {
    FileHandle.standardError.write(Data("\(error)\n".utf8))
    exit(1)
  }
  exit(0)
}

// One thread: Kernels calls openblas_set_num_threads(1) before its first product (and make bench
// sets OPENBLAS_NUM_THREADS=1, which OpenBLAS reads when the process starts).
let showProgress = !json && isatty(2) != 0
let results: [Measurement]
do {
  results = try measure(cases, settings) { text in
    if showProgress { FileHandle.standardError.write(Data("\u{1B}[2K\r  \(text)…".utf8)) }
  }
} catch {
  FileHandle.standardError.write(Data("\n\(error)\n".utf8))
  exit(1)
}
if showProgress { FileHandle.standardError.write(Data("\u{1B}[2K\r".utf8)) }

let byID = Dictionary(uniqueKeysWithValues: results.map { ($0.id, $0) })
let ratios = allRatios().compactMap { r in r.value(byID).map { Report.RatioValue(id: r.id, label: r.label, value: $0) } }
/// The kernel family this process's OpenBLAS picked at start-up (`openblas_get_corename`).
func openBLASCore() -> String {
  typealias CoreName = @convention(c) () -> UnsafePointer<CChar>?
  guard let symbol = dlsym(nil, "openblas_get_corename") else { return "unknown" }
  return unsafeBitCast(symbol, to: CoreName.self)().map { String(cString: $0) } ?? "unknown"
}

let environment = ProcessInfo.processInfo.environment
try? FileManager.default.removeItem(atPath: figureFolder)
#if SHEETNET_NO_TRACE
let tracing = "compiled out (-DSHEETNET_NO_TRACE: Step.tracer is always nil)"
#else
let tracing = "compiled in (an untraced step tests step.tracer for nil)"
#endif
#if DEBUG
let buildKind = "DEBUG build (numbers meaningless)"
#else
let buildKind = "release build"
#endif
let report = Report(
  meta: [
    "build": buildKind,
    "threads": "1",
    "repetitions": "\(settings.repetitions)",
    "clock": settings.clock.rawValue,
    "pure-Swift products bit-identical to k-ordered loops (plain and fma)": swiftPathIsExact() ? "yes" : "NO (check the build flags)",
    "OpenBLAS core": openBLASCore(),
    "OPENBLAS_CORETYPE": environment["OPENBLAS_CORETYPE"] ?? "(unset)",
    // make bench records the -target-cpu it compiled with here.
    "target cpu": Kernels.instructionSet,
    "tracing": tracing,
    "figure cases": figureCases().note,
  ],
  cases: results, ratios: ratios)

if json {
  let encoder = JSONEncoder()
  encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
  print(String(decoding: try encoder.encode(report), as: UTF8.self))
} else {
  printTable(report)
}
