import Foundation
import Kernels
import Tensor
import TestSupport
import XCTest

/// The devices every op is checked on: the CPU fallback and the first OpenCL device (POCL in CI).
enum TestDevices {
    static let opencl: Device? = {
        do {
            let d = try Device.select("opencl")
            return d
        } catch {
            if ProcessInfo.processInfo.environment["CI"] != nil { fatalError("OpenCL is required under CI: \(error)") }
            print("note: no OpenCL device (\(error)); OpenCL checks are skipped")
            return nil
        }
    }()

    static var all: [Device] { [Device.cpu] + (opencl.map { [$0] } ?? []) }

    /// For convolutions: each of the CPU fallback's paths (oneDNN, Winograd where it serves the
    /// shape, im2col + OpenBLAS, and the per-shape choice between them) and OpenCL.
    static var convolution: [Device] { [Device.cpu, Device.cpuOneDNN, Device.cpuWinograd, Device.cpuIm2col] + (opencl.map { [$0] } ?? []) }

    /// Small settings of every GEMM variant, for the OpenCL tests: gemm_packed with chunks of k
    /// shorter than the products' (so later chunks add to what the first wrote) and several panels
    /// per work-item.
    static func smallTuning(_ variant: KernelTuning.GEMMVariant) -> KernelTuning {
        var tuning = KernelTuning(gemmVariant: variant)
        tuning.tileM = 32; tuning.tileN = 32; tuning.tileK = 8; tuning.workPerThreadM = 4; tuning.workPerThreadN = 4
        tuning.panelRows = 3; tuning.panelVectorWidth = 4; tuning.panelVectors = 2; tuning.panelDepth = 16
        tuning.panelsPerItemM = 2; tuning.panelsPerItemN = 3
        return tuning
    }

    /// Whether the OpenCL device is Oclgrind's simulated GPU (scripts/oclgrind-check), where a
    /// kernel runs thousands of times slower: tests whose large shapes serve the CPU paths leave it
    /// out there (the same kernels run on smaller shapes in the OpenCL tests).
    static var openCLIsSimulated: Bool { opencl?.openCLContext?.info.platformName.contains("Oclgrind") ?? false }
}

/// Max relative error: |a - b| / max(1, |b|) elementwise.
func maxRelativeError(_ a: [Float], _ b: [Double]) -> Double {
    precondition(a.count == b.count, "count \(a.count) vs \(b.count)")
    var worst = 0.0
    for i in 0..<a.count {
        let e = abs(Double(a[i]) - b[i]) / max(1, abs(b[i]))
        if e.isNaN { return .infinity }
        worst = max(worst, e)
    }
    return worst
}

func assertClose(_ a: [Float], _ b: [Double], tolerance: Double = 1e-4, _ message: String, file: StaticString = #filePath, line: UInt = #line) {
    let e = maxRelativeError(a, b)
    XCTAssertLessThan(e, tolerance, "\(message): max relative error \(e)", file: file, line: line)
}

/// A sum's float result against float64, each error against the size of the terms it adds up
/// (`scales`: the same sums over absolute values, e.g. a convolution of |x| by |w|), at least 1:
/// a fast algorithm's rounding error follows the terms it transforms, not the result, so an
/// output near zero among outputs of 10 carries their error (Winograd F(4x4, 3x3) on 24 channels
/// of unscaled random data: 1.1e-4 of such an output, one run in many, with fresh seeds).
func assertCloseToTerms(_ a: [Float], _ b: [Double], scales: [Double], tolerance: Double = 1e-4, _ message: String,
                        file: StaticString = #filePath, line: UInt = #line) {
    precondition(a.count == b.count && b.count == scales.count, "counts \(a.count), \(b.count), \(scales.count)")
    var worst = 0.0
    for i in 0..<a.count {
        let e = abs(Double(a[i]) - b[i]) / max(1, scales[i])
        worst = e.isNaN ? .infinity : max(worst, e)
    }
    XCTAssertLessThan(worst, tolerance, "\(message): largest error \(worst) of its terms' size", file: file, line: line)
}

/// Central finite-difference gradient of a float64 scalar function.
func finiteDifference(_ x: [Double], h: Double = 1e-5, _ f: ([Double]) -> Double) -> [Double] {
    var g = [Double](repeating: 0, count: x.count)
    var xp = x
    for i in 0..<x.count {
        xp[i] = x[i] + h
        let fp = f(xp)
        xp[i] = x[i] - h
        let fm = f(xp)
        xp[i] = x[i]
        g[i] = (fp - fm) / (2 * h)
    }
    return g
}

func dot(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }

extension Array where Element == Float { var doubles: [Double] { map(Double.init) } }
