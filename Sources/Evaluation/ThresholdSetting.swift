import Foundation

/// The decision threshold per class: one default with optional per-class overrides.
/// A clip is called positive for a class when its score is at or above the threshold.
public struct ThresholdSetting: Equatable, Codable, Sendable {
    public var defaultThreshold: Double
    public var perClass: [String: Double]

    public init(_ defaultThreshold: Double = 0.5, perClass: [String: Double] = [:]) {
        self.defaultThreshold = defaultThreshold
        self.perClass = perClass
    }

    public func threshold(for className: String) -> Double { perClass[className] ?? defaultThreshold }

    /// Parses command-line values: `T` sets the default, `CLASS=T` one class (the class name
    /// may itself contain '='; the value is after the last one).
    public static func parse(_ arguments: [String], default fallback: Double = 0.5) throws -> ThresholdSetting {
        var setting = ThresholdSetting(fallback)
        var sawDefault = false
        for argument in arguments {
            if let eq = argument.lastIndex(of: "=") {
                let name = String(argument[..<eq])
                let text = String(argument[argument.index(after: eq)...])
                guard !name.isEmpty, let value = Double(text), value.isFinite else {
                    throw EvaluationError.invalidThreshold("threshold '\(argument)': expected CLASS=NUMBER")
                }
                guard setting.perClass[name] == nil else {
                    throw EvaluationError.invalidThreshold("threshold for class '\(name)' given twice")
                }
                setting.perClass[name] = value
            } else {
                guard let value = Double(argument), value.isFinite else {
                    throw EvaluationError.invalidThreshold("threshold '\(argument)': expected a number or CLASS=NUMBER")
                }
                guard !sawDefault else {
                    throw EvaluationError.invalidThreshold("more than one default threshold given ('\(argument)')")
                }
                sawDefault = true
                setting.defaultThreshold = value
            }
        }
        return setting
    }

    /// Throws when a per-class threshold names a class that is not evaluated.
    public func validate(classes: [String]) throws {
        for name in perClass.keys.sorted() where !classes.contains(name) {
            throw EvaluationError.invalidThreshold("threshold given for class '\(name)', which is not evaluated; classes: \(classes.joined(separator: ", "))")
        }
    }

    enum CodingKeys: String, CodingKey {
        case defaultThreshold = "default"
        case perClass = "per_class"
    }
}
