"""Benchmarks: `make bench` (about 1M logs) and `make bench-full` (5M)."""
