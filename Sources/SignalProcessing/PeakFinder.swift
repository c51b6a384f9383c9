import Foundation

/// Peaks of a sampled signal, as `scipy.signal.find_peaks(x, height:, distance:)`:
/// local maxima (a flat top counts once, at its middle sample, rounded down; the first and last
/// samples are never peaks) with `x ≥ height`, then thinned by distance: from the highest peak
/// down, every lower peak closer than `distance` samples to a kept one is removed.
public enum PeakFinder {
    public static func peaks(_ x: [Double], height: Double, distance: Int) -> [Int] {
        var candidates: [Int] = []
        var i = 1
        let last = x.count - 1
        while i < last {
            if x[i - 1] < x[i] {
                var ahead = i + 1
                while ahead < last && x[ahead] == x[i] { ahead += 1 }
                if x[ahead] < x[i] {
                    candidates.append((i + ahead - 1) / 2)
                    i = ahead
                }
            }
            i += 1
        }
        candidates = candidates.filter { x[$0] >= height }
        guard distance > 1, candidates.count > 1 else { return candidates }
        var keep = [Bool](repeating: true, count: candidates.count)
        // Highest first; equal heights: the later peak first (scipy's argsort order reversed).
        let order = candidates.indices.sorted { x[candidates[$0]] != x[candidates[$1]] ? x[candidates[$0]] > x[candidates[$1]] : $0 > $1 }
        for j in order where keep[j] {
            var k = j - 1
            while k >= 0 && candidates[j] - candidates[k] < distance { keep[k] = false; k -= 1 }
            k = j + 1
            while k < candidates.count && candidates[k] - candidates[j] < distance { keep[k] = false; k += 1 }
        }
        return candidates.indices.filter { keep[$0] }.map { candidates[$0] }
    }
}
