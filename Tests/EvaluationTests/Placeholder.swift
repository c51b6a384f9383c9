import XCTest
// Evaluation tests live in this target.
