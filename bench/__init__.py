"""Benchmarks (not tests): `python -m bench` runs them all; see bench/README.md."""
