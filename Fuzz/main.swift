// libFuzzer entry point for `scripts/fuzz` (compiled with -parse-as-library, never by SwiftPM).
// The target comes from CHORUS_FUZZ_TARGET (raven, audacity, labels, safetensors, audio).
import Foundation

private let fuzzTarget: FuzzTarget = {
    let name = ProcessInfo.processInfo.environment["CHORUS_FUZZ_TARGET"] ?? ""
    guard let t = FuzzTarget(rawValue: name) else {
        FileHandle.standardError.write(Data("CHORUS_FUZZ_TARGET must be one of \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")), not '\(name)'\n".utf8))
        exit(2)
    }
    return t
}()

private let scratch: String = {
    var template = Array((NSTemporaryDirectory() + "/chorus-fuzz-XXXXXX").utf8CString)
    guard let made = mkdtemp(&template) else { exit(2) }
    return String(cString: made)
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func chorusFuzzOneInput(_ bytes: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let data = bytes.map { Data(bytes: $0, count: size) } ?? Data()
    fuzzTarget.run(data, scratch: scratch)
    return 0
}
