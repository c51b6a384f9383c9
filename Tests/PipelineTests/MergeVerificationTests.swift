import Annotations
import Audio
import ChorusCore
import Foundation
import Model
import Pipeline
import Tensor
import TestSupport
import XCTest

/// `merge` of predict's parts checks that every part is whole before joining: a part cut off
/// mid-row or at a row's end, rows lost, added or changed, or a `.done` list that is cut off or
/// names another part's files is refused naming the part (and the line), and nothing is written.
final class MergeVerificationTests: XCTestCase {
    struct Run {
        var dir: String
        var files: [String]
        var parts: [String]
        var reference: String
        var referenceDone: String
    }

    nonisolated(unsafe) static var shared: Run?

    /// Five recordings of different lengths scored by one process and in 3 parts (3 s clips,
    /// 1 s overlap, the final clip shortened: times like 4.0–6.0).
    static func run() throws -> Run {
        if let shared { return shared }
        let dir = makeTemporaryDirectory("merge-verify")
        var random = TestRNG(seed: 3)
        var files: [String] = []
        for (i, seconds) in [2.0, 7.5, 4.0, 1.0, 5.0].enumerated() {
            let path = "\(dir)/rec\(i).wav"
            try AudioFile.write(AudioSamples(samples: random.uniform(Int(seconds * 8000), -0.1, 0.1), sampleRate: 8000), to: path)
            files.append(path)
        }
        var pp = Preprocessing()
        pp.sampleRate = 8000; pp.clipDuration = 3; pp.image.height = 32; pp.image.width = 32
        let model = ClassifierModel(network: try Network(architecture: .small, classes: 2, device: .cpu, seed: 5), classes: ["a", "b"],
                                    preprocessing: pp, loss: .bceWithLogits)
        var options = PredictionOptions()
        options.showProgress = false; options.workers = 1; options.clipOverlap = 1; options.finalClip = .remainder
        try Predictor.predict(model: model, files: files, options: options, output: dir + "/one.csv", resume: false, device: .cpu)
        var parts: [String] = []
        for k in 1...3 {
            let part = FileShard.partPath(output: dir + "/s.csv", index: k, count: 3)
            try Predictor.predict(model: model, files: FileShard.files(files, index: k, count: 3), options: options, output: part, resume: false,
                                  shard: FileShard(index: k, count: 3, allFiles: files), device: .cpu)
            parts.append(part)
        }
        let run = Run(dir: dir, files: files, parts: parts, reference: try String(contentsOfFile: dir + "/one.csv", encoding: .utf8),
                      referenceDone: try String(contentsOfFile: dir + "/one.csv.done", encoding: .utf8))
        shared = run
        return run
    }

    /// Copies of the parts (tables, records, .done lists) in a folder of their own.
    func copyParts(_ run: Run) throws -> [String] {
        let dir = makeTemporaryDirectory("merge-verify-copy")
        return try run.parts.map { part in
            let name = (part as NSString).lastPathComponent
            for (from, to) in [(part, name), (part + ".done", name + ".done"), (Provenance.sidecarPath(for: part), Provenance.sidecarPath(for: name))] {
                try FileManager.default.copyItem(atPath: from, toPath: dir + "/" + to)
            }
            return dir + "/" + name
        }
    }

    func text(_ path: String) throws -> String { try String(contentsOfFile: path, encoding: .utf8) }
    func write(_ text: String, _ path: String) throws { try Data(text.utf8).write(to: URL(fileURLWithPath: path)) }

    /// Merges copies of the parts with `damage` done to part 2; returns the error (nil when merged).
    func mergeDamaged(_ damage: (_ part: String, _ parts: [String]) throws -> Void, file: StaticString = #filePath, line: UInt = #line) throws -> String? {
        let parts = try copyParts(try Self.run())
        try damage(parts[1], parts)
        let out = (parts[0] as NSString).deletingLastPathComponent + "/merged.csv"
        do {
            _ = try TableMerge.merge(parts: parts, output: out, overwrite: false)
            return nil
        } catch {
            XCTAssertFalse(FileManager.default.fileExists(atPath: out), "a refused merge writes nothing", file: file, line: line)
            XCTAssertTrue("\(error)".contains("s.part-2-of-3.csv"), "\(error)", file: file, line: line)
            return "\(error)"
        }
    }

    func assertRefused(_ damage: (_ part: String, _ parts: [String]) throws -> Void, _ expected: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        guard let error = try mergeDamaged(damage, file: file, line: line) else { return XCTFail("the damaged part was merged", file: file, line: line) }
        for e in expected { XCTAssertTrue(error.contains(e), "'\(error)' lacks '\(e)'", file: file, line: line) }
    }

    func testWholePartsMergeIntoTheBytesOfOneProcess() throws {
        let run = try Self.run()
        let parts = try copyParts(run)
        let out = (parts[0] as NSString).deletingLastPathComponent + "/merged.csv"
        let outcome = try TableMerge.merge(parts: parts.reversed(), output: out, overwrite: false)
        XCTAssertEqual(outcome.files, 5)
        // 2 s: 0-2; 7.5 s: 0-3,2-5,4-7,6-7.5; 4 s: 0-3,2-4; 1 s: 0-1; 5 s: 0-3,2-5,4-5.
        XCTAssertEqual(outcome.rows, 1 + 4 + 2 + 1 + 3)
        XCTAssertEqual(try text(out), run.reference)
        XCTAssertEqual(try text(out + ".done"), run.referenceDone)
        // Every part scored some files (else the damage below would not be tested).
        for part in run.parts { XCTAssertGreaterThan(try CSV.read(part).count, 1, part) }
    }

    /// The report's case: a part cut mid-row was joined ("6 files, 17 rows", the last row cut off).
    func testAPartCutOffMidRowIsRefusedNamingTheLine() throws {
        try assertRefused({ part, _ in try Data(try Data(contentsOf: URL(fileURLWithPath: part)).prefix(60)).write(to: URL(fileURLWithPath: part)) },
                          ["s.part-2-of-3.csv line 2 is cut off (no end of line)", "score part 2/3 again (predict --shard 2/3 --overwrite)"])
        // Cut inside the header, and emptied.
        try assertRefused({ part, _ in try write("file,start_t", part) }, ["s.part-2-of-3.csv line 1 is cut off"])
        try assertRefused({ part, _ in try write("", part) }, ["s.part-2-of-3.csv is empty"])
    }

    func testRowsLostAddedOrChangedAreRefused() throws {
        func lines(_ part: String) throws -> [String] { try text(part).split(separator: "\n").map(String.init) }
        // Cut at the end of a row: the last recording lost its last clip, or all its rows.
        try assertRefused({ part, _ in
            try write(try lines(part).dropLast().joined(separator: "\n") + "\n", part)
        }, ["s.part-2-of-3.csv has", "rows of", "is missing"])
        try assertRefused({ part, _ in
            let l = try lines(part), last = l.last!.split(separator: ",")[0]
            try write(l.filter { !$0.hasPrefix(last + ",") }.joined(separator: "\n") + "\n", part)
        }, ["s.part-2-of-3.csv has 0 of the"])
        // A row twice, a row without its last score, a clip with other times, a score that is not a number.
        try assertRefused({ part, _ in let l = try lines(part); try write((l + [l[1]]).joined(separator: "\n") + "\n", part) }, ["is a row too many of"])
        try assertRefused({ part, _ in
            var l = try lines(part); l[1] = l[1].split(separator: ",").dropLast().joined(separator: ","); try write(l.joined(separator: "\n") + "\n", part)
        }, ["s.part-2-of-3.csv line 2 has 4 columns, the header 5"])
        try assertRefused({ part, _ in
            var l = try lines(part); var f = l[1].split(separator: ",").map(String.init); f[1] = "0.5"; l[1] = f.joined(separator: ",")
            try write(l.joined(separator: "\n") + "\n", part)
        }, ["s.part-2-of-3.csv line 2 is the clip 0.5–", "its row 1 is the clip 0.0–"])
        try assertRefused({ part, _ in
            var l = try lines(part); var f = l[1].split(separator: ",").map(String.init); f[3] = "0.4x"; l[1] = f.joined(separator: ",")
            try write(l.joined(separator: "\n") + "\n", part)
        }, ["s.part-2-of-3.csv line 2 has '0.4x' where a number belongs"])
        // A row of another part's recording.
        try assertRefused({ part, parts in
            let foreign = try lines(parts[0])[1]
            try write(try text(part) + foreign + "\n", part)
        }, ["which", "s.part-2-of-3.csv.done does not list as finished"])
    }

    func testADamagedListOfFinishedFilesIsRefused() throws {
        // Cut off mid-name, and naming another part's recording.
        try assertRefused({ part, _ in try write(String(try text(part + ".done").dropLast(3)), part + ".done") },
                          ["s.part-2-of-3.csv.done line", "is cut off (no end of line)"])
        try assertRefused({ part, parts in
            try write(try text(part + ".done") + (try text(parts[0] + ".done").split(separator: "\n")[0]) + "\n", part + ".done")
        }, ["s.part-2-of-3.csv.done line", "which is not one of the files of part 2/3"])
    }

    /// A part's record may seal its table (SHA-256 and row count, written when the part finished):
    /// then any change, even of a score, is refused; a matching seal merges.
    func testASealInThePartsRecordIsChecked() throws {
        func seal(_ part: String, _ values: [String: Any]) throws {
            let path = Provenance.sidecarPath(for: part)
            var record = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
            record.merge(values) { _, b in b }
            try JSONSerialization.data(withJSONObject: record).write(to: URL(fileURLWithPath: path))
        }
        func rows(_ part: String) throws -> Int { try CSV.read(part).count - 1 }
        XCTAssertNil(try mergeDamaged { part, _ in
            try seal(part, ["tableSHA256": try SHA256.hex(fileAt: part), "rows": try rows(part)])
        })
        try assertRefused({ part, _ in
            try seal(part, ["tableSHA256": try SHA256.hex(fileAt: part), "rows": try rows(part)])
            // One score changed: the table's shape is whole, its bytes are not.
            var t = try text(part)
            let i = t.lastIndex(of: ",")!
            t.replaceSubrange(t.index(after: i)..<t.index(before: t.endIndex), with: "0.123456")
            try write(t, part)
        }, ["s.part-2-of-3.csv is not the table its record", "SHA-256 differs"])
        try assertRefused({ part, _ in try seal(part, ["rows": try rows(part) + 1]) }, ["s.part-2-of-3.csv has", "rows, its record"])
    }
}
