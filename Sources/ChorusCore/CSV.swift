import Foundation

/// Minimal RFC-4180 CSV: quoted fields, embedded commas/quotes/newlines, BOM and CRLF tolerated.
public enum CSV {
    /// Parses text into rows of fields. Each row carries its 1-based starting line number.
    public static func parse(_ text: String, separator: Character = ",") -> [(line: Int, fields: [String])] {
        var rows: [(Int, [String])] = []
        var field = ""
        var fields: [String] = []
        var inQuotes = false
        var line = 1
        var rowStart = 1
        var chars = Array(text)
        if chars.first == "\u{FEFF}" { chars.removeFirst() }
        var i = 0
        var rowHasContent = false
        while i < chars.count {
            let c = chars[i]
            if inQuotes {
                if c == "\"" {
                    if i + 1 < chars.count && chars[i + 1] == "\"" { field.append("\""); i += 1 } else { inQuotes = false }
                } else {
                    if c == "\n" { line += 1 }
                    field.append(c)
                }
            } else if c == "\"" {
                inQuotes = true; rowHasContent = true
            } else if c == separator {
                fields.append(field); field = ""; rowHasContent = true
            } else if c == "\n" || c == "\r\n" || c == "\r" {
                if rowHasContent || !field.isEmpty { fields.append(field); rows.append((rowStart, fields)) }
                fields = []; field = ""; rowHasContent = false
                line += 1; rowStart = line
            } else {
                field.append(c); rowHasContent = true
            }
            i += 1
        }
        if rowHasContent || !field.isEmpty { fields.append(field); rows.append((rowStart, fields)) }
        return rows
    }

    public static func read(_ path: String, separator: Character = ",") throws -> [(line: Int, fields: [String])] {
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), isFolder.boolValue {
            throw ChorusFileError.cannotRead(path: path, reason: "is a folder, not a file")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ChorusFileError.cannotRead(path: path, reason: "file not found or not readable")
        }
        guard let text = String(data: data, encoding: .utf8) ?? String(data: data, encoding: .isoLatin1) else {
            throw ChorusFileError.invalidFormat(path: path, line: nil, reason: "not UTF-8 text")
        }
        return parse(text, separator: separator)
    }

    /// Quotes a field when it needs it.
    public static func escape(_ field: String) -> String {
        if field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" }) {
            return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
        return field
    }

    public static func line(_ fields: [String]) -> String { fields.map(escape).joined(separator: ",") + "\n" }
}

/// Formats seconds as the shortest exact decimal (3.0 -> "3.0", 0.1 -> "0.1").
public func formatSeconds(_ t: Double) -> String {
    if t == t.rounded() && abs(t) < 1e15 { return String(format: "%.1f", t) }
    return "\(t)"
}
