"""Retraining the embedder from the user's corrections: training data, versions, the gate, the swap."""
