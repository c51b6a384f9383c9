import XCTest
// Synthesis tests live in this target.
