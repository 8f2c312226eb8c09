"""Development support shared by the benchmarks (``scripts/bench_*``) and the tests: not deployed."""
