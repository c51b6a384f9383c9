import XCTest
// Tensor tests live in this target.
