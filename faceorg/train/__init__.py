"""The embedder's training side: dlib model conversion, ONNX export, the two trainers.

A leaf: it imports only itself, numpy, torch and the base modules (errors, progress, files, vectors);
reading photos (:mod:`faceorg.datasets`) and judging or installing a model (:mod:`faceorg.retrain`)
happen above it. Importing this package does not import torch; only the submodules that define torch
modules do.
"""
