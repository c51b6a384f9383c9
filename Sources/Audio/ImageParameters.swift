import Foundation

/// How a spectrogram becomes a CNN input tensor (see `Spectrogram.image(_:)`).
public struct ImageParameters: Codable, Sendable, Equatable {
    /// Output rows.
    public var height = 224
    /// Output columns.
    public var width = 224
    /// dB mapped to [0, 1] (then [-1, 1]); values outside are clipped.
    public var dBRange: ClosedRange<Double> = -100 ... -20
    /// Lowest frequency kept (spectrogram rows, nearest row, inclusive); nil = 0 Hz.
    public var minFrequency: Double? = nil
    /// Highest frequency kept; nil = Nyquist.
    public var maxFrequency: Double? = nil

    public init(height: Int = 224, width: Int = 224, dBRange: ClosedRange<Double> = -100 ... -20,
                minFrequency: Double? = nil, maxFrequency: Double? = nil) {
        self.height = height
        self.width = width
        self.dBRange = dBRange
        self.minFrequency = minFrequency
        self.maxFrequency = maxFrequency
    }

    /// Checks sizes and range; errors name the parameter.
    public func validate() throws {
        guard height > 0, width > 0, height <= 16384, width <= 16384 else {
            throw AudioError.invalidParameter(name: "image size", reason: "\(height)x\(width) must be positive and at most 16384x16384")
        }
        guard dBRange.lowerBound.isFinite, dBRange.upperBound.isFinite, dBRange.lowerBound < dBRange.upperBound else {
            throw AudioError.invalidParameter(name: "dB range", reason: "\(dBRange.lowerBound)...\(dBRange.upperBound) must be finite with low < high")
        }
    }
}
