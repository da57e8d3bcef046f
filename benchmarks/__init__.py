"""Benchmarks: sec/tracklet per stage against the PyTorch baseline."""
