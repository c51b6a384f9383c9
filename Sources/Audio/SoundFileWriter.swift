import CSndFile
import Foundation

/// Writes interleaved samples in any libsndfile format, atomically (temporary file in the same
/// directory, then rename). `AudioFile.write` uses it for WAV; tests use it to make FLAC, OGG, AIFF
/// and other encodings.
enum SoundFileWriter {
    static func write(interleaved samples: [Float], channels: Int, sampleRate: Int, format: Int32, to path: String) throws {
        guard channels > 0, samples.count % channels == 0 else {
            throw AudioError.invalidParameter(name: "channels", reason: "\(samples.count) samples do not divide into \(channels) channels (writing \(path))")
        }
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw AudioError.cannotWrite(path: path, reason: "cannot create directory \(directory.path): \(error.localizedDescription)")
        }
        // Keep the extension: libsndfile does not need it, but a half-written file stays recognisable.
        let temporary = directory.appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
        var sfInfo = SF_INFO()
        sfInfo.samplerate = Int32(clamping: sampleRate)
        sfInfo.channels = Int32(clamping: channels)
        sfInfo.format = format
        guard sf_format_check(&sfInfo) == SF_TRUE else {
            throw AudioError.unsupportedFormat(path: path, reason: "libsndfile cannot write format 0x\(String(format, radix: 16)) (\(SoundFormatName.describe(format))) at \(sampleRate) Hz with \(channels) channels")
        }
        guard let handle = sf_open(temporary, Int32(SFM_WRITE), &sfInfo) else {
            throw AudioError.cannotWrite(path: path, reason: String(cString: sf_strerror(nil)))
        }
        sf_command(handle, Int32(SFC_SET_CLIPPING), nil, Int32(SF_TRUE))
        let frames = samples.count / channels
        let written = samples.withUnsafeBufferPointer { buffer -> Int in
            guard let base = buffer.baseAddress else { return 0 }
            return Int(sf_writef_float(handle, base, sf_count_t(frames)))
        }
        let writeError = String(cString: sf_strerror(handle))
        let closed = sf_close(handle)
        guard written == frames, closed == 0 else {
            unlink(temporary)
            throw AudioError.cannotWrite(path: path, reason: "wrote \(written) of \(frames) frames: \(writeError)")
        }
        if rename(temporary, path) != 0 {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw AudioError.cannotWrite(path: path, reason: reason)
        }
    }
}
