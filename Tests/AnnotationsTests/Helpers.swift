import Annotations
import ChorusCore
import Foundation
import TestSupport
import XCTest

/// Writes `text` to a new file in a fresh temporary directory and returns its path.
func writeTemporaryFile(_ name: String, _ text: String) throws -> String {
    let path = (makeTemporaryDirectoryForAnnotations() as NSString).appendingPathComponent(name)
    try AtomicFile.write(text, to: path)
    return path
}

func makeTemporaryDirectoryForAnnotations() -> String { makeTemporaryDirectory("chorus-annotations") }

/// The description of the error `body` throws (fails the test when it does not throw).
func errorDescription(_ body: () throws -> Void, file: StaticString = #filePath, line: UInt = #line) -> String {
    do {
        try body()
        XCTFail("expected an error", file: file, line: line)
        return ""
    } catch {
        return "\(error)"
    }
}

/// A table of `count` single-class rows per class (plus negatives) spread over `files` files.
func syntheticTable(classes: [String], positives: [Int], negatives: Int, files: Int = 4) -> ClipLabelTable {
    var rows: [ClipLabelRow] = []
    var t = 0.0
    func add(_ labels: [Float]) {
        let file = "rec\(rows.count % files).wav"
        rows.append(ClipLabelRow(file: file, start: t, end: t + 3, labels: labels))
        t += 3
    }
    for (c, n) in positives.enumerated() {
        for _ in 0..<n { var l = [Float](repeating: 0, count: classes.count); l[c] = 1; add(l) }
    }
    for _ in 0..<negatives { add([Float](repeating: 0, count: classes.count)) }
    return ClipLabelTable(classes: classes, rows: rows)
}
