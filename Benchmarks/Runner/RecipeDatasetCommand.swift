import Foundation
import Synthesis

/// `chorus-bench recipe-dataset`: writes one recipe-check dataset (R1, R2, R3) over the real
/// backgrounds of `../shared/data/audio/soundscape-24h`.
enum RecipeDatasetCommand {
    static let usage = """
    usage: chorus-bench recipe-dataset --dataset R1|R2|R3 [--seed N] [--backgrounds DIR] --out DIR
      --dataset      which dataset (\\(names))
      --seed         dataset seed (default: the dataset's own: R1 101, R2 202, R3 303)
      --backgrounds  folder of real background recordings (default: $CHORUS_SHARED_DATA/audio/soundscape-24h,
                     else shared/data/audio/soundscape-24h or ../shared/data/... above the current directory
                     or the executable)
      --out          output folder (new, empty, or a dataset generated before)
    """.replacingOccurrences(of: "\\(names)", with: RecipeDatasetSpec.all.map(\.name).joined(separator: ", "))

    static func run(_ args: [String]) -> Int32 {
        var options: [String: String] = [:]
        var i = 0
        while i < args.count {
            let key = args[i]
            guard ["--dataset", "--seed", "--backgrounds", "--out"].contains(key), i + 1 < args.count else {
                if key == "--help" || key == "-h" { print(usage); return 0 }
                fail("unexpected argument '\(key)'")
                return 2
            }
            options[key] = args[i + 1]
            i += 2
        }
        guard let name = options["--dataset"], var spec = RecipeDatasetSpec.named(name) else {
            fail("--dataset must be one of \(RecipeDatasetSpec.all.map(\.name).joined(separator: ", "))")
            return 2
        }
        guard let out = options["--out"] else { fail("--out is required"); return 2 }
        if let seed = options["--seed"] {
            guard let value = UInt64(seed) else { fail("--seed must be a non-negative integer, got '\(seed)'"); return 2 }
            spec.seed = value
        }
        guard let backgrounds = options["--backgrounds"] ?? defaultBackgrounds() else {
            fail("no background folder found: pass --backgrounds DIR or set CHORUS_SHARED_DATA (../shared/data beside the repository)")
            return 1
        }
        let start = Date()
        do {
            let root = URL(fileURLWithPath: out).standardizedFileURL.path
            let manifest = try RecipeDatasetGenerator.generate(spec, backgrounds: backgrounds, into: root)
            let seconds = Date().timeIntervalSince(start)
            let count = { (part: DatasetPart) in manifest.files.filter { $0.part == part }.count }
            var calls: [DatasetPart: [String: Int]] = [:]
            for f in manifest.files { for (code, n) in f.calls { calls[f.part, default: [:]][code, default: 0] += n } }
            func list(_ part: DatasetPart) -> String {
                (calls[part] ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            }
            print("\(spec.name) (seed \(spec.seed)): \(spec.summary)")
            print("  targets \(manifest.targetClasses.joined(separator: ",")); look-alikes \(manifest.confusionClasses.joined(separator: ","))")
            print("  \(count(.targeted)) targeted recordings (calls: \(list(.targeted)))")
            print("  \(count(.fieldTrain)) overlay recordings over \(manifest.backgrounds.training.count) training backgrounds (calls: \(list(.fieldTrain)))")
            print("  \(count(.fieldTest)) test recordings over \(manifest.backgrounds.test.count) test backgrounds (calls: \(list(.fieldTest)))")
            print("  \(manifest.sampleRate) Hz, \(manifest.clipDuration) s clips; written to \(root) in \(String(format: "%.1f", seconds)) s")
            return 0
        } catch {
            fail("\(error)")
            return 1
        }
    }

    static func defaultBackgrounds() -> String? {
        let relative = "audio/soundscape-24h"
        if let env = ProcessInfo.processInfo.environment["CHORUS_SHARED_DATA"] {
            let path = (env as NSString).appendingPathComponent(relative)
            if FileManager.default.fileExists(atPath: path) { return path }
        }
        let starts = [FileManager.default.currentDirectoryPath,
                      URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent().path]
        for start in starts {
            var dir = URL(fileURLWithPath: start).standardizedFileURL
            for _ in 0..<8 {
                for candidate in ["shared/data/" + relative, "../shared/data/" + relative] {
                    let path = dir.appendingPathComponent(candidate).standardizedFileURL.path
                    if FileManager.default.fileExists(atPath: path) { return path }
                }
                dir.deleteLastPathComponent()
            }
        }
        return nil
    }

    static func fail(_ message: String) {
        FileHandle.standardError.write(Data("chorus-bench recipe-dataset: \(message)\n\(usage)\n".utf8))
    }
}
