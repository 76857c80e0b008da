"""Benchmarks for the repairs service. `make bench-api` runs `python -m bench.api_bench`.

These are reports, not pass/fail tests: they print a table and write it under bench/results/.
"""
