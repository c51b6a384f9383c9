import Foundation

/// A closed frequency range `[low, high]` in Hz (or pulses per second for pulse rates).
public struct FrequencyBand: Sendable, Equatable, Codable {
    public var low: Double
    public var high: Double

    public init(_ low: Double, _ high: Double) {
        self.low = low
        self.high = high
    }

    /// `high − low`.
    public var width: Double { high - low }

    /// Checks `0 ≤ low < high ≤ limit`; errors name `parameter`.
    func validate(_ parameter: String, limit: Double? = nil, limitName: String = "") throws {
        guard low.isFinite, high.isFinite, low >= 0 else {
            throw SignalProcessingError.invalidParameter(name: parameter, reason: "\(low)-\(high) Hz: limits must be finite and ≥ 0")
        }
        guard low < high else {
            throw SignalProcessingError.invalidParameter(name: parameter, reason: "\(low)-\(high): the low limit must be below the high limit (the range is empty)")
        }
        if let limit, high > limit {
            throw SignalProcessingError.invalidParameter(name: parameter, reason: "\(low)-\(high) Hz reaches above \(limitName) (\(limit) Hz)")
        }
    }
}
