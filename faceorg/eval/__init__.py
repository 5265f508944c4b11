"""Benchmarks behind ``faceorg eval``: each module measures one part against the shared face data."""
