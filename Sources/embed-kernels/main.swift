// Reads an OpenCL source file and writes a Swift file defining `embeddedKernelSource`.
// Used by the EmbedKernels build-tool plugin; not shipped.
import Foundation

let args = CommandLine.arguments
guard args.count == 3 else {
    FileHandle.standardError.write("usage: embed-kernels INPUT.cl OUTPUT.swift\n".data(using: .utf8)!)
    exit(2)
}
let text: String
do {
    text = try String(contentsOfFile: args[1], encoding: .utf8)
} catch {
    FileHandle.standardError.write("embed-kernels: cannot read \(args[1]): \(error)\n".data(using: .utf8)!)
    exit(1)
}
// A raw string with enough '#' that no sequence in the source can close it.
var hashes = "#"
while text.contains("\"" + hashes) { hashes += "#" }
let swift = """
// Generated from kernels.cl by embed-kernels. Do not edit.
let embeddedKernelSource: String = \(hashes)\"\"\"
\(text)
\"\"\"\(hashes)

"""
do {
    try swift.write(toFile: args[2], atomically: true, encoding: .utf8)
} catch {
    FileHandle.standardError.write("embed-kernels: cannot write \(args[2]): \(error)\n".data(using: .utf8)!)
    exit(1)
}
