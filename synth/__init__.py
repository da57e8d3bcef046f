"""Synthetic SoccerNet-style tracklets with per-frame annotations, for training and testing."""
