import Foundation

/// The Chorus version recorded in every model, table sidecar and run folder.
public let chorusVersion = "0.1.0"

/// Today's date as YYYY-MM-DD (local time), for date-stamped outputs.
public func dateStamp(_ date: Date = Date()) -> String {
    let f = DateFormatter()
    f.locale = Locale(identifier: "en_US_POSIX")
    f.dateFormat = "yyyy-MM-dd"
    return f.string(from: date)
}

/// ISO-8601 timestamp with seconds, UTC.
public func isoTimestamp(_ date: Date = Date()) -> String {
    let f = ISO8601DateFormatter()
    f.formatOptions = [.withInternetDateTime]
    return f.string(from: date)
}
