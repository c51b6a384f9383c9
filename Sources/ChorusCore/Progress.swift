import Foundation

/// Progress for long work: a live bar on a terminal (batch i/n, rate, ETA, extra text),
/// plain log lines otherwise (one every `logInterval` seconds and at the end). Safe to update
/// from several threads (the loader's workers and the trainer): its state is behind a lock.
public final class ProgressReporter: @unchecked Sendable {
    public let label: String
    public let total: Int
    public let unit: String
    private let start = Date()
    private let isTerminal: Bool
    private let logInterval: TimeInterval
    /// 2 (standard error) or 1 (standard output).
    private let descriptor: Int32
    private let lock = NSLock()
    private var lastPrint = Date.distantPast  // guarded by lock
    private var isQuiet = false  // guarded by lock
    public var quiet: Bool {
        get { lock.withLock { isQuiet } }
        set { lock.withLock { isQuiet = newValue } }
    }

    public init(label: String, total: Int, unit: String = "items", logInterval: TimeInterval = 10, toStandardError: Bool = true) {
        self.label = label
        self.total = total
        self.unit = unit
        self.logInterval = logInterval
        descriptor = toStandardError ? 2 : 1
        isTerminal = isatty(descriptor) != 0 && ProcessInfo.processInfo.environment["CHORUS_PLAIN_PROGRESS"] == nil
    }

    public static func formatDuration(_ s: Double) -> String {
        guard s.isFinite, s >= 0 else { return "--:--" }
        let t = Int(s.rounded())
        if t >= 3600 { return String(format: "%d:%02d:%02d", t / 3600, (t / 60) % 60, t % 60) }
        return String(format: "%02d:%02d", t / 60, t % 60)
    }

    /// `done` items of `total` finished; `rateItems` is how many units (e.g. samples) per second.
    public func update(done: Int, rateUnits: Double? = nil, extra: String = "", force: Bool = false) {
        lock.lock()
        defer { lock.unlock() }
        guard !isQuiet else { return }
        let now = Date()
        let elapsed = now.timeIntervalSince(start)
        let finished = done >= total
        if !force && !finished {
            let interval = isTerminal ? 0.2 : logInterval
            if now.timeIntervalSince(lastPrint) < interval { return }
        }
        lastPrint = now
        let rate = rateUnits ?? (elapsed > 0 ? Double(done) / elapsed : 0)
        let eta = done > 0 ? elapsed / Double(done) * Double(total - done) : .infinity
        let pct = total > 0 ? Double(done) / Double(total) : 1
        var text: String
        if isTerminal {
            let width = 24
            let filled = Int(pct * Double(width))
            let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
            text = "\r\(label) [\(bar)] \(done)/\(total) \(String(format: "%.1f", rate)) \(unit)/s ETA \(ProgressReporter.formatDuration(eta)) \(extra)\u{1B}[K"
            if finished { text += "\n" }
        } else {
            text = "\(label) \(done)/\(total) (\(String(format: "%.0f", pct * 100))%) \(String(format: "%.1f", rate)) \(unit)/s elapsed \(ProgressReporter.formatDuration(elapsed)) ETA \(ProgressReporter.formatDuration(eta)) \(extra)\n"
        }
        fflush(nil)  // what print() buffered comes first
        writeAll(descriptor, text)
    }
}

/// Writes a line to standard error (after what print() buffered).
public func printError(_ message: String) {
    fflush(nil)
    writeAll(2, message + "\n")
}

/// write(2) until everything is out (or the stream is gone).
func writeAll(_ descriptor: Int32, _ text: String) {
    var bytes = Array(text.utf8)[...]
    while !bytes.isEmpty {
        let n = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { return }
        bytes = bytes.dropFirst(n)
    }
}
