import XCTest
// CLI tests live in this target.
