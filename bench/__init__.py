"""Benchmarks: each module prints figures and ratios against a baseline from the same run."""
