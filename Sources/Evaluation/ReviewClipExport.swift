import Foundation

/// Cuts one clip of a recording out to a WAV file. Implemented outside this module (it needs
/// audio decoding); `Evaluation` only decides which clips and where they go.
public protocol ReviewClipWriter {
    /// Writes seconds `start..<end` of the audio file at `file` to a WAV file at `outputPath`.
    func writeClip(file: String, start: Double, end: Double, to outputPath: String) throws
    /// Writes a spectrogram picture of seconds `start..<end` (the clip with its context) to a PNG
    /// at `outputPath`. Optional: the default writes none.
    func writePicture(file: String, start: Double, end: Double, to outputPath: String) throws
    /// Writes the model's view of the clip `start..<end` (no context: the network input image, same
    /// band, dB range and size) to a PNG at `outputPath`; returns false when the writer has no model.
    func writeModelView(file: String, start: Double, end: Double, to outputPath: String) throws -> Bool
}

extension ReviewClipWriter {
    public func writePicture(file: String, start: Double, end: Double, to outputPath: String) throws {}
    public func writeModelView(file: String, start: Double, end: Double, to outputPath: String) throws -> Bool { false }
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
        var out: [(String, Double, Double, String)] = []
        for (list, names) in zip(reviewLists, relativeNames(reviewLists)) {
            for (e, name) in zip(list.entries, names) {
                out.append((audioPath(of: e.clip.file, audioRoot: audioRoot), e.clip.startTime, e.clip.endTime, (dir as NSString).appendingPathComponent(name)))
            }
        }
        return out
    }

    /// `<class stem>/<kind>_<rank>_<file name>_<start>-<end>s.wav` of every entry, list by list.
    public static func relativeNames(_ reviewLists: [ReviewList]) -> [[String]] {
        let stems = OutputNames.fileStems(for: reviewLists.map(\.className))
        return zip(reviewLists, stems).map { list, stem in
            list.entries.map { e in
                let base = ((e.clip.file as NSString).lastPathComponent as NSString).deletingPathExtension
                let safeBase = OutputNames.fileStems(for: [base])[0]
                return stem + "/" + "\(e.kind.rawValue)_\(String(format: "%02d", e.rank))_\(safeBase)_"
                    + "\(formatTime(e.clip.startTime))-\(formatTime(e.clip.endTime))s.wav"
            }
        }
    }

    /// Writes every planned clip with `writer`, creating the class folders. Failures do not stop
    /// the export; they are returned as (output path, reason).
    /// With `context` > 0 each WAV (and picture, `<name>.png`) spans the clip plus that many
    /// seconds on each side, so a listener hears the call's surroundings. With `pictures`, the
    /// model's view of the clip itself goes to `<name>.model.png` when the writer knows the model.
    public static func export(reviewLists: [ReviewList], audioRoot: String?, to dir: String, context: Double = 0, pictures: Bool = false,
                              writer: ReviewClipWriter) -> (written: [String], failed: [(output: String, reason: String)]) {
        var written: [String] = [], failed: [(String, String)] = []
        for item in plan(reviewLists: reviewLists, audioRoot: audioRoot, to: dir) {
            do {
                try FileManager.default.createDirectory(atPath: (item.output as NSString).deletingLastPathComponent,
                                                        withIntermediateDirectories: true)
                let start = max(0, item.start - context), end = item.end + context
                try writer.writeClip(file: item.file, start: start, end: end, to: item.output)
                written.append(item.output)
                if pictures {
                    let picture = (item.output as NSString).deletingPathExtension + ".png"
                    try writer.writePicture(file: item.file, start: start, end: end, to: picture)
                    if FileManager.default.fileExists(atPath: picture) { written.append(picture) }
                    let modelView = (item.output as NSString).deletingPathExtension + ".model.png"
                    if try writer.writeModelView(file: item.file, start: item.start, end: item.end, to: modelView) { written.append(modelView) }
                }
            } catch {
                failed.append((item.output, "\(item.file) \(formatTime(item.start))-\(formatTime(item.end)) s: \(error)"))
            }
        }
        return (written, failed)
    }

    private static func formatTime(_ t: Double) -> String { String(format: "%.3f", t) }
}
