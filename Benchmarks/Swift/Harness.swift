import Foundation

// The measuring machinery of `sheetnet-bench`: a case, how it is timed, and how results print.
// Cases themselves live in Cases.swift; this file knows nothing about networks.

/// One named thing to time. `prepare` builds its state once and returns the body that one
/// iteration runs (a training step, a matrix product, a figure rendering).
struct BenchCase {
  /// Stable key for `--json`, `--filter` and Benchmarks/compare.py, e.g. `step/mlp-64-32-10`.
  var id: String
  /// The table section the case prints under.
  var group: Group
  /// What a reader sees in the table.
  var label: String
  /// Floating-point operations per iteration, when GFLOP/s means something.
  var flops: Double? = nil
  /// Whether an iteration runs a whole child process (`sheetnet figure …`): such a case is timed
  /// on the wall clock whatever `--wall` says (this thread's CPU time does not see the child),
  /// one iteration per repetition and no untimed iteration before it.
  var process = false
  /// Builds the state and returns one iteration.
  var prepare: () throws -> () -> Void
}

/// Table sections, in print order. Add a case to an existing group, or a group here.
enum Group: String, CaseIterable, Codable {
  case step = "Training step: forward, loss, backward and update (ms per step)"
  case lesson = "Shipped lessons, one training step, untraced and traced (ms per step)"
  case gemm = "Matrix product C = op(A)·op(B) (ms per product, GFLOP/s)"
  case figure = "Figure rendering, the whole `sheetnet figure` process (wall-clock ms per figure; CPU ms: the child's user + system)"

  /// Short name used in JSON.
  var key: String {
    switch self {
    case .step: "step"
    case .lesson: "lesson"
    case .gemm: "gemm"
    case .figure: "figure"
    }
  }
}

/// A derived number: the speed of one case over another's, denominator time / numerator time,
/// so > 1 means the numerator case is faster (for two products of one shape: the GFLOP/s ratio).
struct Ratio {
  /// Stable key, e.g. `gemm/256/swift-vs-blas`.
  var id: String
  /// What the ratio says, e.g. `pure Swift / OpenBLAS GFLOP/s, n = 256`.
  var label: String
  /// Case ids.
  var numerator: String, denominator: String

  /// numerator speed / denominator speed (= denominator time / numerator time).
  func value(_ results: [String: Measurement]) -> Double? {
    guard let a = results[numerator], let b = results[denominator] else { return nil }
    return b.median / a.median
  }
}

/// The timing of one case, in milliseconds per iteration.
struct Measurement: Codable {
  var id: String
  var group: String
  var label: String
  /// Median over the repetitions of (time of one repetition / iterations in it).
  var median: Double
  var min: Double
  var max: Double
  /// flops / median, when the case counts flops.
  var gflops: Double?
  /// Process cases: the median CPU time (user + system) of the child process, in ms; on a busy
  /// machine it shows the work apart from the wait for a core.
  var childCPU: Double?
  var repetitions: Int
  var iterationsPerRepetition: Int
}

/// How long to warm up and how many repetitions to take.
struct Settings {
  /// Repetitions whose median is reported.
  var repetitions = 15
  /// Each repetition runs enough iterations to last about this long (seconds).
  var repetitionSeconds = 0.02
  /// Warm-up time before calibrating (seconds); at least 3 iterations either way.
  var warmUpSeconds = 0.2
  /// The clock that times everything.
  var clock = Clock.thread
}

/// Which clock times the cases.
enum Clock: String {
  /// CPU time of this thread (CLOCK_THREAD_CPUTIME_ID): the default. Everything measured runs on
  /// this one thread (OpenBLAS too, with one thread), so on an idle machine it equals wall time,
  /// and on a busy one other processes do not inflate it.
  case thread = "thread CPU time"
  /// Wall-clock time (CLOCK_MONOTONIC), `--wall`.
  case wall = "wall-clock time"
}

/// Seconds on `clock` since an arbitrary start.
@inline(__always) func now(_ clock: Clock) -> Double {
  var t = timespec()
  clock_gettime(clock == .thread ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC, &t)
  return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
}

/// A prepared case: its body, warmed up, and the iterations one repetition runs.
struct Prepared {
  var bench: BenchCase
  var body: () -> Void
  var inner: Int
  var times: [Double] = []
  /// Process cases: the child's CPU time of each repetition, ms.
  var childTimes: [Double] = []
}

/// CPU time (user + system) of this process's terminated and waited-for children, seconds.
func childrenCPU() -> Double {
  var usage = rusage()
  #if canImport(Glibc)
  getrusage(RUSAGE_CHILDREN.rawValue, &usage)
  #else
  getrusage(RUSAGE_CHILDREN, &usage)
  #endif
  func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) * 1e-6 }
  return seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

/// The median of a non-empty list.
func median(_ values: [Double]) -> Double {
  let v = values.sorted()
  return v.count % 2 == 1 ? v[v.count / 2] : (v[v.count / 2 - 1] + v[v.count / 2]) / 2
}

/// Builds the case, warms it up and calibrates how many iterations fill one repetition
/// (always one for a process case).
func prepare(_ c: BenchCase, _ s: Settings) throws -> Prepared {
  let body = try c.prepare()
  let clock = c.process ? .wall : s.clock
  var start = now(clock), done = 0
  while done < 3 || now(clock) - start < s.warmUpSeconds { body(); done += 1 }
  start = now(clock)
  var probe = 0
  while probe < 1 || now(clock) - start < s.repetitionSeconds / 4 { body(); probe += 1 }
  let perIteration = (now(clock) - start) / Double(probe)
  return Prepared(bench: c, body: body, inner: c.process ? 1 : max(1, Int(s.repetitionSeconds / perIteration)))
}

/// Times every case, repetitions interleaved round-robin (case 1, case 2, …, case 1, …) so that a
/// passing load on a shared machine spreads over all cases instead of spoiling one. Each timed
/// repetition follows one untimed iteration, which brings the case's data back into cache
/// (process cases excepted: a child process starts cold either way).
func measure(_ cases: [BenchCase], _ s: Settings, progress: (String) -> Void = { _ in }) throws -> [Measurement] {
  var prepared: [Prepared] = []
  for c in cases {
    progress("preparing \(c.id)")
    prepared.append(try prepare(c, s))
  }
  for r in 0..<s.repetitions {
    progress("repetition \(r + 1) of \(s.repetitions)")
    for i in prepared.indices {
      let (body, inner) = (prepared[i].body, prepared[i].inner)
      let clock = prepared[i].bench.process ? .wall : s.clock
      if !prepared[i].bench.process { body() }
      let child0 = prepared[i].bench.process ? childrenCPU() : 0
      let t0 = now(clock)
      for _ in 0..<inner { body() }
      prepared[i].times.append((now(clock) - t0) / Double(inner) * 1e3)
      if prepared[i].bench.process { prepared[i].childTimes.append((childrenCPU() - child0) / Double(inner) * 1e3) }
    }
  }
  return prepared.map { p in
    let c = p.bench, middle = median(p.times)
    return Measurement(
      id: c.id, group: c.group.key, label: c.label, median: middle, min: p.times.min()!, max: p.times.max()!,
      gflops: c.flops.map { $0 / (middle * 1e-3) / 1e9 }, childCPU: p.childTimes.isEmpty ? nil : median(p.childTimes),
      repetitions: s.repetitions, iterationsPerRepetition: p.inner)
  }
}

/// Everything `--json` prints.
struct Report: Codable {
  struct RatioValue: Codable {
    var id: String, label: String, value: Double
  }
  /// Build and run conditions (threads, repetitions, the bit-identity check).
  var meta: [String: String]
  var cases: [Measurement]
  var ratios: [RatioValue]
}

/// The human-readable table.
func printTable(_ report: Report) {
  let width = max(44, (report.cases.map(\.label) + report.ratios.map(\.label)).map(\.count).max() ?? 0)
  func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
  func left(_ s: String, _ n: Int) -> String { s.count >= n ? s : String(repeating: " ", count: n - s.count) + s }
  func ms(_ v: Double) -> String { String(format: v < 0.1 ? "%.4f" : v < 10 ? "%.3f" : "%.1f", v) }
  print("SheetNet benchmarks: \(report.meta["build"] ?? "release"), \(report.meta["threads"] ?? "1") thread, median of \(report.meta["repetitions"] ?? "?") repetitions of \(report.meta["clock"] ?? "?")")
  for (k, v) in report.meta.sorted(by: { $0.key < $1.key }) where !["build", "threads", "repetitions", "clock"].contains(k) {
    print("  \(k): \(v)")
  }
  for group in Group.allCases {
    let rows = report.cases.filter { $0.group == group.key }
    guard !rows.isEmpty else { continue }
    print("")
    print(group.rawValue)
    let hasFlops = rows.contains { $0.gflops != nil }, hasChild = rows.contains { $0.childCPU != nil }
    print("  " + pad("case", width) + left("median ms", 11) + left("min ms", 10) + (hasFlops ? left("GFLOP/s", 10) : "")
          + (hasChild ? left("CPU ms", 10) : ""))
    for r in rows {
      let g = r.gflops.map { String(format: "%.2f", $0) } ?? "", cpu = r.childCPU.map(ms) ?? ""
      print("  " + pad(r.label, width) + left(ms(r.median), 11) + left(ms(r.min), 10) + (hasFlops ? left(g, 10) : "")
            + (hasChild ? left(cpu, 10) : ""))
    }
  }
  if !report.ratios.isEmpty {
    print("")
    print("Ratios (> 1: the first named is faster)")
    for r in report.ratios { print("  " + pad(r.label, width) + left(String(format: "%.3f", r.value), 11)) }
  }
}
