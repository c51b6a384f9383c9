import Audio
import ChorusCore
import Foundation

/// One file that could not be processed, with the reason.
public struct FileFailure: Sendable, Equatable {
    public var path: String
    public var reason: String
}

/// Runs a job over many files with a bounded number of worker threads.
public enum FileBatch {
    /// Audio files among `inputs` (files as given, directories searched recursively for
    /// `AudioFile.supportedExtensions`), in input order, each once.
    public static func audioFiles(_ inputs: [String]) throws -> [String] {
        var seen = Set<String>(), out: [String] = []
        for input in inputs {
            for file in try FileSystem.files(under: input, extensions: AudioFile.supportedExtensions) where seen.insert(file).inserted {
                out.append(file)
            }
        }
        return out
    }

    /// Worker count to use: the requested one (at least 1), or all cores, never more than the files.
    public static func workerCount(requested: Int?, files: Int) -> Int {
        max(1, min(requested ?? Machine.usableCores, max(files, 1)))
    }

    /// Applies `body` to every file on `workers` threads; results are in input order.
    /// `done` is called (serially) after each file with the number finished so far.
    public static func map<T>(_ files: [String], workers: Int, done: ((Int) -> Void)? = nil,
                              _ body: (String) throws -> T) -> [Result<T, Error>] {
        let state = BatchState<T>(count: files.count)
        let count = max(1, min(workers, files.count))
        concurrentPerform(count) { _ in
            while let index = state.nextIndex() {
                let result = Result { try body(files[index]) }
                let finished = state.store(result, at: index)
                if let done { state.serially { done(finished) } }
            }
        }
        return state.results.map { $0 ?? .failure(SignalProcessingError.cannotProcess(path: "", reason: "not processed")) }
    }
}

/// Shared work queue and results of `FileBatch.map`, guarded by a lock.
private final class BatchState<T>: @unchecked Sendable {
    private let lock = NSLock()
    private let reportLock = NSLock()
    private var next = 0
    private var finished = 0
    private let count: Int
    var results: [Result<T, Error>?]

    init(count: Int) {
        self.count = count
        results = Array(repeating: nil, count: count)
    }

    func nextIndex() -> Int? {
        lock.lock(); defer { lock.unlock() }
        guard next < count else { return nil }
        next += 1
        return next - 1
    }

    func store(_ result: Result<T, Error>, at index: Int) -> Int {
        lock.lock(); defer { lock.unlock() }
        results[index] = result
        finished += 1
        return finished
    }

    func serially(_ body: () -> Void) {
        reportLock.lock(); defer { reportLock.unlock() }
        body()
    }
}
