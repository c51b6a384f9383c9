import Foundation

/// Cuts one clip of a recording out to a WAV file. Implemented outside this module (it needs
/// audio decoding); `Evaluation` only decides which clips and where they go.
public protocol ReviewClipWriter {
    /// Writes seconds `start..<end` of the audio file at `file` to a WAV file at `outputPath`.
    func writeClip(file: String, start: Double, end: Double, to outputPath: String) throws
}

/// Exports the clips of review lists as short WAV files:
/// `dir/<class stem>/<kind>_<rank>_<file name>_<start>-<end>s.wav`.
public enum ReviewClipExport {
    /// The audio path of a clip: `file` as is when absolute or when there is no root, else
    /// under `audioRoot`.
    public static func audioPath(of file: String, audioRoot: String?) -> String {
        guard let root = audioRoot, !file.hasPrefix("/") else { return file }
        return (root as NSString).appendingPathComponent(file)
    }

    /// Planned exports: the source audio, the clip times and the output path of every entry.
    public static func plan(reviewLists: [ReviewList], audioRoot: String?, to dir: String)
        -> [(file: String, start: Double, end: Double, output: String)] {
        let stems = OutputNames.fileStems(for: reviewLists.map(\.className))
        var out: [(String, Double, Double, String)] = []
        for (list, stem) in zip(reviewLists, stems) {
            for e in list.entries {
                let base = ((e.clip.file as NSString).lastPathComponent as NSString).deletingPathExtension
                let safeBase = OutputNames.fileStems(for: [base])[0]
                let name = "\(e.kind.rawValue)_\(String(format: "%02d", e.rank))_\(safeBase)_"
                    + "\(formatTime(e.clip.startTime))-\(formatTime(e.clip.endTime))s.wav"
                let output = ((dir as NSString).appendingPathComponent(stem) as NSString).appendingPathComponent(name)
                out.append((audioPath(of: e.clip.file, audioRoot: audioRoot), e.clip.startTime, e.clip.endTime, output))
            }
        }
        return out
    }

    /// Writes every planned clip with `writer`, creating the class folders. Failures do not stop
    /// the export; they are returned as (output path, reason).
    public static func export(reviewLists: [ReviewList], audioRoot: String?, to dir: String,
                              writer: ReviewClipWriter) -> (written: [String], failed: [(output: String, reason: String)]) {
        var written: [String] = [], failed: [(String, String)] = []
        for item in plan(reviewLists: reviewLists, audioRoot: audioRoot, to: dir) {
            do {
                try FileManager.default.createDirectory(atPath: (item.output as NSString).deletingLastPathComponent,
                                                        withIntermediateDirectories: true)
                try writer.writeClip(file: item.file, start: item.start, end: item.end, to: item.output)
                written.append(item.output)
            } catch {
                failed.append((item.output, "\(item.file) \(formatTime(item.start))-\(formatTime(item.end)) s: \(error)"))
            }
        }
        return (written, failed)
    }

    private static func formatTime(_ t: Double) -> String { String(format: "%.3f", t) }
}
