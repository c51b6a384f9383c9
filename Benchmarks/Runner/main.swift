import BenchmarkSuite
// Placeholder: runs the benchmark suite (filled in by the foundation work).
print("chorus-bench")
