import Audio
import ChorusCore
import Foundation

/// RIBBIT scores of one file in a batch.
public struct RibbitFileScores: Sendable {
    public var path: String
    public var clips: [RibbitClipScore]
    /// Seconds of audio in the file.
    public var audioSeconds: Double
}

/// RIBBIT over many files: files in parallel on a bounded number of workers, each streamed.
public enum RibbitBatch {
    public struct Report: Sendable {
        /// Scored files in input order.
        public var files: [RibbitFileScores]
        /// Files that could not be read or scored, with the reason.
        public var failures: [FileFailure]
        public var audioSeconds: Double { files.reduce(0) { $0 + $1.audioSeconds } }
    }

    /// Scores every file. Parameter errors that do not depend on a file throw at once; a file
    /// that cannot be read or scored (including a band above its Nyquist frequency) is listed
    /// in `failures` and skipped.
    /// - Parameters:
    ///   - workers: files processed at once (nil: all cores); the spectrogram of each uses the
    ///     remaining cores.
    ///   - plotDirectory: if given, a PNG per file (`RibbitPlot`), named after the file.
    ///   - plotNamesFrom: every file of the run when `files` are one part of it (a shard), so
    ///     each plot is named as a run over all of them names it.
    ///   - progress: called after each file with the number done.
    public static func run(files: [String], parameters: RibbitParameters, workers: Int? = nil,
                           plotDirectory: String? = nil, plotNamesFrom allFiles: [String]? = nil,
                           progress: ((Int) -> Void)? = nil) throws -> Report {
        try parameters.validate()
        let workerCount = FileBatch.workerCount(requested: workers, files: files.count)
        let threads = max(1, Machine.usableCores / workerCount)
        let plotNames = plotFileNames(allFiles ?? files)
        if let plotDirectory {
            do {
                try FileManager.default.createDirectory(atPath: plotDirectory, withIntermediateDirectories: true)
            } catch {
                throw SignalProcessingError.invalidParameter(name: "plot directory", reason: "cannot create \(plotDirectory): \(error.localizedDescription)")
            }
        }
        let results = FileBatch.map(files, workers: workerCount, done: progress) { path -> RibbitFileScores in
            let result = try Ribbit.scores(file: path, parameters: parameters, threads: threads)
            if let plotDirectory, let name = plotNames[path] {
                try RibbitPlot.write(result, parameters: parameters, to: (plotDirectory as NSString).appendingPathComponent(name))
            }
            return RibbitFileScores(path: path, clips: result.clips, audioSeconds: result.amplitude.audioDuration)
        }
        var report = Report(files: [], failures: [])
        for (path, result) in zip(files, results) {
            switch result {
            case let .success(scores): report.files.append(scores)
            case let .failure(error): report.failures.append(FileFailure(path: path, reason: "\(error)"))
            }
        }
        return report
    }

    /// `file,start_time,end_time,score` rows sorted by file then start time.
    public static func csv(_ report: Report) -> String {
        var text = CSV.line(["file", "start_time", "end_time", "score"])
        for file in report.files.sorted(by: { $0.path < $1.path }) {
            for clip in file.clips.sorted(by: { $0.start < $1.start }) {
                text += CSV.line([file.path, formatSeconds(clip.start), formatSeconds(clip.end), "\(clip.score)"])
            }
        }
        return text
    }

    /// `<name>.png` per file; names shared by several files get a hash of the path appended.
    static func plotFileNames(_ files: [String]) -> [String: String] {
        let stems = files.map { ((($0 as NSString).lastPathComponent) as NSString).deletingPathExtension }
        var counts: [String: Int] = [:]
        for stem in stems { counts[stem, default: 0] += 1 }
        var names: [String: String] = [:]
        for (file, stem) in zip(files, stems) {
            names[file] = (counts[stem] ?? 0) > 1 ? "\(stem)-\(SHA256.hex(string: file).prefix(8)).png" : "\(stem).png"
        }
        return names
    }
}

extension Ribbit {
    /// RIBBIT (the Great Plains toad parameters unless given) over every audio file under
    /// `folder`, on all cores. Returns the wall time and the hours of audio scored.
    public static func benchmarkRibbit(folder: String) throws -> (seconds: Double, audioHours: Double) {
        try benchmarkRibbit(folder: folder, parameters: .greatPlainsToad)
    }

    public static func benchmarkRibbit(folder: String, parameters: RibbitParameters, workers: Int? = nil) throws -> (seconds: Double, audioHours: Double) {
        let files = try FileBatch.audioFiles([folder])
        guard !files.isEmpty else { throw SignalProcessingError.cannotProcess(path: folder, reason: "no audio files") }
        let start = DispatchTime.now().uptimeNanoseconds
        let report = try RibbitBatch.run(files: files, parameters: parameters, workers: workers)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        if let failure = report.failures.first {
            throw SignalProcessingError.cannotProcess(path: failure.path, reason: failure.reason)
        }
        return (seconds, report.audioSeconds / 3600)
    }
}
