import Annotations
import Audio
import ChorusCore
import Foundation
import Model

/// The files users hand Chorus, as fuzz targets. Each target writes the bytes where its reader
/// expects a file and calls the reader the commands use. A thrown error is a good answer; a
/// crash, a sanitizer report, a hang or a huge allocation is a bug.
///
/// Compiled into the libFuzzer binary by `scripts/fuzz` (coverage-guided, with AddressSanitizer)
/// and into `FuzzTests`, which replays the seed corpus and every crash found as regression tests.
public enum FuzzTarget: String, CaseIterable, Sendable {
    case raven, audacity, labels, safetensors, audio

    /// The extension the reader is given (readers pick formats by content, commands by extension).
    public var fileExtension: String {
        switch self {
        case .raven: return "Table.1.selections.txt"
        case .audacity: return "txt"
        case .labels: return "csv"
        case .safetensors: return "model"
        case .audio: return "wav"
        }
    }

    /// Runs the reader on `data`; returns a short description of the outcome.
    @discardableResult
    public func run(_ data: Data, scratch: String) -> String {
        let path = (scratch as NSString).appendingPathComponent("input." + fileExtension)
        guard FileManager.default.createFile(atPath: path, contents: data) else { return "cannot write \(path)" }
        do {
            switch self {
            case .raven:
                return "\(try RavenTable.read(path).count) annotations"
            case .audacity:
                return "\(try AudacityLabels.read(path).count) annotations"
            case .labels:
                let table = try ClipLabelTable.read(path, checkFilesExist: false)
                _ = table.positiveCounts()
                return "\(table.rows.count) rows"
            case .safetensors:
                let file = try SafeTensorsFile.read(path)
                return "\(file.tensors.count) tensors"
            case .audio:
                // As predict does: the header, then a bounded read, resampled.
                let info = try AudioFile.info(path)
                let audio = try AudioFile.read(path, duration: min(info.duration, 5), sampleRate: 16_000)
                return "\(audio.samples.count) samples"
            }
        } catch {
            return "refused: \(String(describing: error).prefix(200))"
        }
    }
}
