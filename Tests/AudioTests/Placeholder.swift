import XCTest
// Audio tests live in this target.
