"""Benchmarks. `make bench` runs them all and prints one JSON document per benchmark on stdout.

Each benchmark measures a baseline in the same run (these machines are noisy): read the ratios.
"""
