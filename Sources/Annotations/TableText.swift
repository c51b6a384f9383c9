import ChorusCore
import Foundation

/// Reads a small text table as lines, tolerating a UTF-8 byte-order mark, CRLF or CR line
/// ends, and Latin-1 files. Each line keeps its 1-based line number; blank lines are dropped.
enum TableText {
    static func lines(of path: String) throws -> [(line: Int, text: String)] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ChorusFileError.cannotRead(path: path, reason: "file not found or not readable")
        }
        guard var text = String(data: data, encoding: .utf8) ?? String(data: data, encoding: .isoLatin1) else {
            throw ChorusFileError.invalidFormat(path: path, line: nil, reason: "not UTF-8 or Latin-1 text")
        }
        if text.hasPrefix("\u{FEFF}") { text.removeFirst() }
        // Split on the unicode scalars so "\r\n" (a single Character) is handled like "\n".
        var result: [(Int, String)] = []
        var current = String.UnicodeScalarView()
        var lineNumber = 1
        var previousWasCR = false
        func flush() {
            let s = String(current)
            if !s.trimmingCharacters(in: .whitespaces).isEmpty { result.append((lineNumber, s)) }
            current = String.UnicodeScalarView()
        }
        for scalar in text.unicodeScalars {
            if scalar == "\n" {
                if previousWasCR { previousWasCR = false; continue }
                flush(); lineNumber += 1
            } else if scalar == "\r" {
                flush(); lineNumber += 1; previousWasCR = true
                continue
            } else {
                current.append(scalar)
            }
            previousWasCR = false
        }
        flush()
        return result
    }

    /// Parses a decimal number, trimming spaces; nil when it is not a finite number.
    static func number(_ field: String) -> Double? {
        let trimmed = field.trimmingCharacters(in: .whitespaces)
        guard let v = Double(trimmed), v.isFinite else { return nil }
        return v
    }
}
