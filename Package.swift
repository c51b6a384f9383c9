// swift-tools-version:6.0
import PackageDescription

// Module graph (arrows point one way):
//   C libraries  <- ChorusCore (hashing on OpenSSL's libcrypto, files, CSV, NPY/PNG, progress)
//   Kernels (OpenCL runtime)  <- Tensor (shapes, storage, forward/backward ops; CPU convolutions on oneDNN)  <- Model (layers, losses, optimizers, trainer)
//   Audio (decode, resample, filter, spectrogram; no OpenCL)   Annotations (Raven, clips, labels; no OpenCL)
//   Evaluation (metrics, plots, report)   SignalProcessing (RIBBIT, grouse; uses Audio)
//   Pipeline (preprocessing, augmentation, loader, prediction: Audio + Annotations + Model)
//   Synthesis (demo soundscapes: Audio + Annotations)
//   Collectives (MPI ranks and collectives; used by the CLI to share work between processes)
//   train-gpu (CLI only)
let package = Package(
    name: "Chorus",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "train-gpu", targets: ["train-gpu"]),
        .executable(name: "chorus-bench", targets: ["chorus-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // System libraries, resolved through pkg-config, installed from Debian packages.
        .systemLibrary(name: "COpenCL", path: "Sources/COpenCL", pkgConfig: "OpenCL",
                       providers: [.apt(["ocl-icd-opencl-dev", "opencl-headers", "pocl-opencl-icd"])]),
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CFFTW", path: "Sources/CFFTW", pkgConfig: "fftw3f",
                       providers: [.apt(["libfftw3-dev"])]),
        .systemLibrary(name: "CSndFile", path: "Sources/CSndFile", pkgConfig: "sndfile",
                       providers: [.apt(["libsndfile1-dev"])]),
        .systemLibrary(name: "CSoxr", path: "Sources/CSoxr", pkgConfig: "soxr",
                       providers: [.apt(["libsoxr-dev"])]),
        .systemLibrary(name: "CCrypto", path: "Sources/CCrypto", pkgConfig: "libcrypto",
                       providers: [.apt(["libssl-dev"])]),
        // oneDNN has no pkg-config file on Debian; the module map links it (and its OpenMP runtime).
        .systemLibrary(name: "CDNNL", path: "Sources/CDNNL", providers: [.apt(["libdnnl-dev"])]),
        .systemLibrary(name: "CMPI", path: "Sources/CMPI", pkgConfig: "ompi-c",
                       providers: [.apt(["libopenmpi-dev", "openmpi-bin"])]),

        // Build tool that embeds kernels.cl into the Kernels module as a Swift string.
        .executableTarget(name: "embed-kernels", path: "Sources/embed-kernels"),
        .plugin(name: "EmbedKernels", capability: .buildTool(), dependencies: ["embed-kernels"],
                path: "Plugins/EmbedKernels"),

        .target(name: "ChorusCore", dependencies: ["CCrypto"]),
        .target(name: "Kernels", dependencies: ["COpenCL", "ChorusCore"], plugins: ["EmbedKernels"]),
        // The CPU fallback's loops that need AVX2 + FMA (C: vector intrinsics chosen at run time).
        .target(name: "CHostKernels"),
        .target(name: "Tensor", dependencies: ["Kernels", "CBLAS", "CDNNL", "CHostKernels", "ChorusCore"]),
        .target(name: "Model", dependencies: ["Tensor", "ChorusCore"]),
        .target(name: "Audio", dependencies: ["CSndFile", "CFFTW", "CSoxr", "ChorusCore"]),
        .target(name: "Annotations", dependencies: ["ChorusCore"]),
        .target(name: "Evaluation", dependencies: ["ChorusCore"]),
        .target(name: "SignalProcessing", dependencies: ["Audio", "Annotations", "CFFTW", "ChorusCore"]),
        .target(name: "Pipeline", dependencies: ["Audio", "Annotations", "Model", "Tensor", "Evaluation", "ChorusCore"]),
        .target(name: "Synthesis", dependencies: ["Audio", "Annotations", "ChorusCore"]),
        // The processes of an mpirun/srun job and their collectives (Open MPI; size 1 without a launcher).
        .target(name: "Collectives", dependencies: ["CMPI"]),
        // The measured single-precision FMA peak of this CPU (C: vector intrinsics chosen at run time).
        .target(name: "CPUPeak", path: "Benchmarks/Peak"),
        .target(name: "BenchmarkSuite", dependencies: ["Tensor", "Kernels", "Audio", "Model", "Pipeline", "SignalProcessing", "CBLAS", "CPUPeak", "ChorusCore"],
                path: "Benchmarks/Suite"),

        .executableTarget(name: "train-gpu", dependencies: [
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            "ChorusCore", "Kernels", "Tensor", "Model", "Audio", "Annotations", "Evaluation",
            "SignalProcessing", "Pipeline", "Synthesis", "BenchmarkSuite", "Collectives",
        ]),
        .executableTarget(name: "chorus-bench", dependencies: ["BenchmarkSuite", "Synthesis", "ChorusCore"], path: "Benchmarks/Runner"),

        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "ChorusCoreTests", dependencies: ["ChorusCore", "TestSupport"]),
        .testTarget(name: "KernelsTests", dependencies: ["Kernels", "ChorusCore", "TestSupport"]),
        .testTarget(name: "TensorTests", dependencies: ["Tensor", "Kernels", "CHostKernels", "Audio", "ChorusCore", "TestSupport"]),
        .testTarget(name: "ModelTests", dependencies: ["Model", "Tensor", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "AudioTests", dependencies: ["Audio", "TestSupport"]),
        .testTarget(name: "AnnotationsTests", dependencies: ["Annotations", "TestSupport"]),
        .testTarget(name: "EvaluationTests", dependencies: ["Evaluation", "TestSupport"]),
        .testTarget(name: "SignalProcessingTests", dependencies: ["SignalProcessing", "Audio", "TestSupport"]),
        .testTarget(name: "PipelineTests", dependencies: ["Pipeline", "Model", "Tensor", "Audio", "Annotations", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "SynthesisTests", dependencies: ["Synthesis", "Audio", "Annotations", "TestSupport"]),
        .testTarget(name: "CLITests", dependencies: ["TestSupport", "Audio", "ChorusCore", "Model"]),
        // Fuzz targets (also compiled by scripts/fuzz into a libFuzzer binary) and their regression corpus.
        .testTarget(name: "FuzzTests", dependencies: ["Annotations", "Audio", "ChorusCore", "Model", "TestSupport"],
                    exclude: ["Corpus", "Crashes"]),
    ],
    swiftLanguageModes: [.v6]
)
