import Foundation

/// File-name stems for per-class outputs: class names reduced to letters, digits, '-', '_' and
/// '.', made unique (a suffix `_2`, `_3` ... on collisions).
public enum OutputNames {
    public static func fileStems(for classes: [String]) -> [String] {
        var used = Set<String>()
        return classes.map { name in
            var base = String(name.map { ch -> Character in
                (ch.isASCII && (ch.isLetter || ch.isNumber)) || ch == "-" || ch == "_" || ch == "." ? ch : "_"
            })
            if base.isEmpty || base.allSatisfy({ $0 == "." }) { base = "class" }
            var stem = base
            var k = 2
            while used.contains(stem.lowercased()) {
                stem = "\(base)_\(k)"
                k += 1
            }
            used.insert(stem.lowercased())
            return stem
        }
    }
}
