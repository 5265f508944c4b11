"""The embedder's training side: dlib model conversion, ONNX export, fine-tuning.

Importing this package does not import torch; only the submodules that define torch modules do.
"""
