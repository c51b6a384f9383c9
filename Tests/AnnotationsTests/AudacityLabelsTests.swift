import Annotations
import Foundation
import TestSupport
import XCTest

final class AudacityLabelsTests: XCTestCase {
    func testReadsSpinetailLabelsWithFrequencies() throws {
        let labels = try AudacityLabels.read(try SharedData.path("annotations/spinetail.audacity.txt"))
        XCTAssertEqual(labels.count, 18)
        XCTAssertEqual(labels.filter { $0.label == "SP" }.count, 14)
        XCTAssertEqual(labels.filter { $0.label == "CRER" }.count, 4)
        XCTAssertEqual(labels[0].start, 0.101385)
        XCTAssertEqual(labels[0].end, 0.367520)
        XCTAssertEqual(labels[0].lowFrequency, 6441.064453)
        XCTAssertEqual(labels[0].highFrequency, 12296.577148)
        XCTAssertTrue(labels.allSatisfy { $0.lowFrequency != nil && $0.end > $0.start })
        XCTAssertEqual(ClipLabeler.classesInOrderOfAppearance(labels), ["SP", "CRER"])
    }

    func testBadLinesReportedWithLineNumbers() throws {
        let path = try writeTemporaryFile("x.txt", "1.0\t2.0\tA\n\\\t100\n3\tx\tB\n")
        let message = errorDescription { _ = try AudacityLabels.read(path) }
        XCTAssertTrue(message.contains("\(path):2:"), message)
        XCTAssertTrue(message.contains("\(path):3: end 'x' is not a number"), message)
    }
}
