"""Helpers of ``benchmarks/corrections_bench.py``: the hard library, the oracle user, the measurements."""
