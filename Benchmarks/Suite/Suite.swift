// Benchmark suite shared by chorus-bench and train-gpu bench.
