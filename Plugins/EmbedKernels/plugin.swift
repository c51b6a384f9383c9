import Foundation
import PackagePlugin

/// Embeds the package's top-level `kernels.cl` into the target as a Swift string constant,
/// so the shipped binary carries its OpenCL source and never reads `./kernels.cl` at run time.
@main
struct EmbedKernels: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let source = context.package.directoryURL.appendingPathComponent("kernels.cl")
        let output = context.pluginWorkDirectoryURL.appendingPathComponent("KernelSource.generated.swift")
        return [
            .buildCommand(
                displayName: "Embedding kernels.cl",
                executable: try context.tool(named: "embed-kernels").url,
                arguments: [source.path, output.path],
                inputFiles: [source],
                outputFiles: [output]
            ),
        ]
    }
}
