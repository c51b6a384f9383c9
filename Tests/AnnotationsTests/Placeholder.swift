import XCTest
// Annotations tests live in this target.
