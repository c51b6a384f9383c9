import XCTest
// SignalProcessing tests live in this target.
