// MARK: - STFT to tensor (OpenCL devices)

extension Ops {
    /// CNN input images of a batch of raw clips, computed entirely on the clips' OpenCL device:
    /// framing, window, mean removal, FFT, power, dB, row crop, dB range to [0, 1], flip, bilinear
    /// resize, `(x - 0.5) / 0.5`. Equals Audio's CPU path (`Spectrogram.compute` -> `bandpassed` ->
    /// `image`) within 1e-3.
    ///
    /// - Parameters:
    ///   - clips: `[B, samples]` on an OpenCL device.
    ///   - parameters: the spectrogram and image settings.
    /// - Returns: `[B, 1, height, width]` on the same device.
    /// - Throws: `TensorError.invalidArgument` for a CPU device (the CPU path is Audio's FFTW
    ///   spectrogram), clips shorter than one window, or bad settings; `invalidShape` for clips not 2-D.
    public static func spectrogramImages(clips: Tensor, parameters: SpectrogramImageSettings) throws -> Tensor {
        let op = "spectrogramImages"
        let (backend, batch, samples) = try stftInput(op, clips, parameters)
        let frames = parameters.frameCount(samples: samples)
        let decibels = try Tensor.empty([batch, parameters.rowCount, frames], on: clips.device)
        try backend.stftPowerDb(batch: batch, samples: samples, settings: parameters, clips: clips.storage, out: decibels.storage)
        let images = try Tensor.empty([batch, 1, parameters.height, parameters.width], on: clips.device)
        try backend.spectrogramToImage(batch: batch, rows: parameters.rowCount, frames: frames, settings: parameters,
                                       decibels: decibels.storage, out: images.storage)
        return images
    }

    /// The dB spectrograms of a batch of clips on their OpenCL device, `[B, rows, frames]` with row 0
    /// = `parameters.rowLo` (ascending frequency): the first half of `spectrogramImages`.
    public static func spectrogramDecibels(clips: Tensor, parameters: SpectrogramImageSettings) throws -> Tensor {
        let (backend, batch, samples) = try stftInput("spectrogramDecibels", clips, parameters)
        let decibels = try Tensor.empty([batch, parameters.rowCount, parameters.frameCount(samples: samples)], on: clips.device)
        try backend.stftPowerDb(batch: batch, samples: samples, settings: parameters, clips: clips.storage, out: decibels.storage)
        return decibels
    }

    private static func stftInput(_ op: String, _ clips: Tensor, _ parameters: SpectrogramImageSettings) throws -> (OpenCLBackend, Int, Int) {
        guard let backend = clips.device.backend as? OpenCLBackend else {
            throw TensorError.invalidArgument(op: op, reason: "clips are on \(clips.device.identifier), but this op runs only on OpenCL devices; the CPU path is Audio's FFTW spectrogram (Spectrogram.compute -> bandpassed -> image), which the Pipeline chooses for --device cpu")
        }
        guard clips.rank == 2 else { throw TensorError.invalidShape(op: op, shape: clips.shape, expected: "clips [batch, samples]") }
        let batch = clips.shape[0], samples = clips.shape[1]
        try parameters.validate(samples: samples, op: op)
        guard batch > 0 else { throw TensorError.invalidShape(op: op, shape: clips.shape, expected: "at least one clip") }
        guard samples <= Int(Int32.max), batch <= Int(Int32.max) else {
            throw TensorError.invalidShape(op: op, shape: clips.shape, expected: "fewer than 2^31 clips and samples per clip")
        }
        return (backend, batch, samples)
    }
}
