import Foundation

/// Matches annotation tables to audio files by recording name.
///
/// A table's recording name is its file name without `.Table.<n>.selections.txt`,
/// `.selections.txt`, `.audacity.txt` or `.txt` (`MSD-0003.Table.1.selections.txt` → `MSD-0003`);
/// rows of multi-file tables (`Begin File`/`Begin Path`) use that file's name without extension.
/// An audio file's recording name is its file name without extension.
public enum RecordingMatcher {
    /// Annotations of one recording, and the audio file found for it (if any).
    public struct Match: Sendable, Equatable {
        public var recording: String
        public var audioPath: String?
        public var annotations: [Annotation]
    }

    /// The recording name of an annotation table path.
    public static func recordingName(ofTable path: String) -> String {
        var name = (path as NSString).lastPathComponent
        if let range = name.range(of: #"\.Table\.[0-9]+\.selections\.txt$"#, options: [.regularExpression, .caseInsensitive]) {
            name.removeSubrange(range)
            return name
        }
        for suffix in [".selections.txt", ".audacity.txt", ".txt"] where name.lowercased().hasSuffix(suffix) {
            return String(name.dropLast(suffix.count))
        }
        return name
    }

    /// The recording name of an audio path (file name without extension).
    public static func recordingName(ofAudio path: String) -> String {
        ((path as NSString).lastPathComponent as NSString).deletingPathExtension
    }

    /// Groups the annotations of `tables` by recording (in order of first appearance) and
    /// attaches the audio file of each. Throws when two audio files share a name, when a
    /// recording has no audio and `requireAudio` is set, or when an audio file has no table and
    /// `includeUnannotated` is not set (with it, such files come last with no annotations).
    public static func match(tables: [(path: String, annotations: [Annotation])], audio: [String],
                             requireAudio: Bool, includeUnannotated: Bool) throws -> [Match] {
        var audioByName: [String: String] = [:]
        for path in audio {
            let name = recordingName(ofAudio: path)
            if let other = audioByName[name], other != path {
                throw AnnotationsError.cannotProceed(reason: "two audio files are both recording '\(name)': \(other) and \(path); annotation tables are matched to audio by file name, so names must be unique")
            }
            audioByName[name] = path
        }
        var matches: [Match] = []
        var position: [String: Int] = [:]
        for (path, annotations) in tables {
            let tableName = recordingName(ofTable: path)
            if annotations.isEmpty, position[tableName] == nil {   // an empty table still says the recording was reviewed
                position[tableName] = matches.count
                matches.append(Match(recording: tableName, audioPath: audioByName[tableName], annotations: []))
            }
            for a in annotations {
                let name = a.file.map(recordingName(ofAudio:)) ?? tableName
                if let p = position[name] { matches[p].annotations.append(a); continue }
                position[name] = matches.count
                matches.append(Match(recording: name, audioPath: audioByName[name], annotations: [a]))
            }
        }
        if requireAudio {
            let missing = matches.filter { $0.audioPath == nil }.map(\.recording)
            if !missing.isEmpty {
                throw AnnotationsError.cannotProceed(reason: "no audio file found for recording\(missing.count == 1 ? "" : "s") \(missing.map { "'\($0)'" }.joined(separator: ", ")) (audio is matched to tables by file name; pass the audio with --audio, or give --duration)")
            }
        }
        let unannotated = audio.filter { position[recordingName(ofAudio: $0)] == nil }
        if !unannotated.isEmpty {
            guard includeUnannotated else {
                throw AnnotationsError.cannotProceed(reason: "no annotation table for \(unannotated.count) audio file\(unannotated.count == 1 ? "" : "s"): \(unannotated.prefix(10).joined(separator: ", "))\(unannotated.count > 10 ? ", ..." : ""); pass only annotated audio, or --include-unannotated to label them all-negative")
            }
            for path in unannotated {
                matches.append(Match(recording: recordingName(ofAudio: path), audioPath: path, annotations: []))
            }
        }
        return matches
    }
}
