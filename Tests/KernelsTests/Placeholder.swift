import XCTest
// Kernels tests live in this target.
