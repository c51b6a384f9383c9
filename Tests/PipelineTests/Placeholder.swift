import XCTest
// Pipeline tests live in this target.
