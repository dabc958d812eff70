"""Measures the book on whatever machine runs it: `python -m benchmarks --help`."""
