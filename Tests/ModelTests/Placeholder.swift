import XCTest
// Model tests live in this target.
