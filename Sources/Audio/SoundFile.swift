import CSndFile
import Foundation

/// An open libsndfile handle for reading, with mono mix-down. Internal: callers use `AudioFile`
/// and `AudioStreamReader`. Not thread-safe; one reader per thread.
final class SoundFile {
    let path: String
    let info: AudioInfo
    private let handle: OpaquePointer
    private var interleaved: [Float] = []

    /// Opens `path`, checking that it exists and that its extension is supported.
    init(path: String) throws {
        let ext = (path as NSString).pathExtension.lowercased()
        guard FileManager.default.isReadableFile(atPath: path) else { throw AudioError.fileNotFound(path: path) }
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw AudioError.unsupportedFormat(path: path, reason: "is a directory, not an audio file")
        }
        guard AudioFile.supportedExtensions.contains(ext) else {
            let known = AudioFile.supportedExtensions.sorted().joined(separator: ", ")
            throw AudioError.unsupportedFormat(path: path, reason: "extension '.\(ext)' is not one of \(known)")
        }
        var sfInfo = SF_INFO()
        guard let handle = sf_open(path, Int32(SFM_READ), &sfInfo) else {
            var reason = String(cString: sf_strerror(nil))
            // The file exists and is readable (checked above): libsndfile's "does not exist" means
            // it could not recognise the contents.
            if reason.contains("does not exist") || reason.contains("not a regular file") {
                reason = "the contents are not a valid \(ext.uppercased()) file (damaged, truncated, or another format)"
            }
            throw AudioError.cannotDecode(path: path, reason: reason)
        }
        guard sfInfo.samplerate > 0, sfInfo.channels > 0 else {
            sf_close(handle)
            throw AudioError.cannotDecode(path: path, reason: "header gives sample rate \(sfInfo.samplerate) and \(sfInfo.channels) channels")
        }
        self.handle = handle
        self.path = path
        // Integer samples are scaled by 1/2^(bits-1) (libsndfile's default normalisation);
        // clip float to int conversions on write, never wrap.
        sf_command(handle, Int32(SFC_SET_NORM_FLOAT), nil, Int32(SF_TRUE))
        let frames = max(0, Int(sfInfo.frames))
        info = AudioInfo(path: path, sampleRate: Int(sfInfo.samplerate), channels: Int(sfInfo.channels),
                         frames: frames, duration: Double(frames) / Double(sfInfo.samplerate),
                         format: SoundFormatName.describe(sfInfo.format))
    }

    deinit { sf_close(handle) }

    /// Moves the read position to `frame` (0-based) by seeking, without decoding what lies before it.
    func seek(toFrame frame: Int) throws {
        if sf_seek(handle, sf_count_t(frame), SEEK_SET) < 0 {
            throw AudioError.cannotDecode(path: path, reason: "cannot seek to frame \(frame): \(String(cString: sf_strerror(handle)))")
        }
    }

    /// Reads up to `count` frames mixed down to mono into `destination[at...]`.
    /// Returns the number of frames read; fewer than `count` only at the end of the file.
    func readMono(into destination: inout [Float], at start: Int, count: Int) throws -> Int {
        precondition(start >= 0 && start + count <= destination.count, "read past the end of the destination")
        return try destination.withUnsafeMutableBufferPointer { try readMono(into: $0.baseAddress! + start, count: count) }
    }

    /// Reads up to `count` frames mixed down to mono into `destination` (room for `count` floats).
    /// Returns the number of frames read; fewer than `count` only at the end of the file.
    func readMono(into destination: UnsafeMutablePointer<Float>, count: Int) throws -> Int {
        let channels = info.channels
        var total = 0
        if channels == 1 {
            while total < count {
                let got = Int(sf_readf_float(handle, destination + total, sf_count_t(count - total)))
                if got <= 0 { break }
                total += got
            }
        } else {
            let chunk = 65_536
            if interleaved.count < chunk * channels { interleaved = [Float](repeating: 0, count: chunk * channels) }
            let scale = 1 / Float(channels)
            while total < count {
                let want = min(chunk, count - total)
                let got = interleaved.withUnsafeMutableBufferPointer { Int(sf_readf_float(handle, $0.baseAddress!, sf_count_t(want))) }
                if got <= 0 { break }
                interleaved.withUnsafeBufferPointer { source in
                    for frame in 0..<got {
                        var sum: Float = 0
                        let base = frame * channels
                        for c in 0..<channels { sum += source[base + c] }
                        destination[total + frame] = sum * scale
                    }
                }
                total += got
            }
        }
        let code = sf_error(handle)
        if total < count, code != 0 {
            throw AudioError.cannotDecode(path: path, reason: "decoding stopped after \(total) of \(count) frames: \(String(cString: sf_error_number(code)))")
        }
        return total
    }
}

/// Human-readable names of libsndfile format codes.
enum SoundFormatName {
    static func describe(_ format: Int32) -> String {
        let major = Int(format) & Int(SF_FORMAT_TYPEMASK)
        let sub = Int(format) & Int(SF_FORMAT_SUBMASK)
        let majors: [Int: String] = [
            Int(SF_FORMAT_WAV): "WAV", Int(SF_FORMAT_AIFF): "AIFF", Int(SF_FORMAT_AU): "AU",
            Int(SF_FORMAT_W64): "W64", Int(SF_FORMAT_RF64): "RF64", Int(SF_FORMAT_CAF): "CAF",
            Int(SF_FORMAT_FLAC): "FLAC", Int(SF_FORMAT_OGG): "OGG", Int(SF_FORMAT_MPEG): "MP3",
            Int(SF_FORMAT_WAVEX): "WAVEX",
        ]
        let subs: [Int: String] = [
            Int(SF_FORMAT_PCM_S8): "PCM_S8", Int(SF_FORMAT_PCM_U8): "PCM_U8",
            Int(SF_FORMAT_PCM_16): "PCM_16", Int(SF_FORMAT_PCM_24): "PCM_24",
            Int(SF_FORMAT_PCM_32): "PCM_32", Int(SF_FORMAT_FLOAT): "FLOAT",
            Int(SF_FORMAT_DOUBLE): "DOUBLE", Int(SF_FORMAT_VORBIS): "VORBIS",
            Int(SF_FORMAT_OPUS): "OPUS", Int(SF_FORMAT_ULAW): "ULAW", Int(SF_FORMAT_ALAW): "ALAW",
            Int(SF_FORMAT_MPEG_LAYER_I): "MPEG_LAYER_I", Int(SF_FORMAT_MPEG_LAYER_II): "MPEG_LAYER_II",
            Int(SF_FORMAT_MPEG_LAYER_III): "MPEG_LAYER_III",
        ]
        let majorName = majors[major] ?? String(format: "format 0x%06x", major)
        let subName = subs[sub] ?? String(format: "encoding 0x%04x", sub)
        return "\(majorName) \(subName)"
    }
}
