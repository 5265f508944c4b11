"""Face detection (RetinaFace on onnxruntime), five-point alignment and face quality.

Modules: ``retinaface`` (the detector and ``Detection``), ``priors`` (anchors and decoding), ``nms``,
``align`` (chips for the embedder), ``quality`` (sharpness and a 0..1 quality score).
"""
