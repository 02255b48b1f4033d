"""Benchmarks: each prints one JSON object per figure, with a reference measured in the same run."""
