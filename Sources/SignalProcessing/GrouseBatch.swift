import ChorusCore
import Foundation

/// Drumming detections of one file in a batch.
public struct GrouseFileDetections: Sendable {
    public var path: String
    public var sequences: [GrouseSequence]
}

/// The grouse detector over many files in parallel (bounded workers), each read in windows.
public enum GrouseBatch {
    public struct Report: Sendable {
        public var files: [GrouseFileDetections]
        public var failures: [FileFailure]
    }

    public static func run(files: [String], parameters: GrouseParameters, workers: Int? = nil,
                           progress: ((Int) -> Void)? = nil) throws -> Report {
        try parameters.validate()
        let results = FileBatch.map(files, workers: FileBatch.workerCount(requested: workers, files: files.count), done: progress) {
            GrouseFileDetections(path: $0, sequences: try GrouseDetector.detect(file: $0, parameters: parameters))
        }
        var report = Report(files: [], failures: [])
        for (path, result) in zip(files, results) {
            switch result {
            case let .success(found): report.files.append(found)
            case let .failure(error): report.failures.append(FileFailure(path: path, reason: "\(error)"))
            }
        }
        return report
    }

    /// `file,start_time,end_time,beats,beat_times` (beat times in seconds, 4 decimals, joined by
    /// ';'), one row per sequence, sorted by file then start.
    public static func csv(_ report: Report) -> String {
        var text = CSV.line(["file", "start_time", "end_time", "beats", "beat_times"])
        for file in report.files.sorted(by: { $0.path < $1.path }) {
            for s in file.sequences.sorted(by: { $0.start < $1.start }) {
                text += CSV.line([file.path, String(format: "%.4f", s.start), String(format: "%.4f", s.end), "\(s.beats)",
                                  s.beatTimes.map { String(format: "%.4f", $0) }.joined(separator: ";")])
            }
        }
        return text
    }
}
