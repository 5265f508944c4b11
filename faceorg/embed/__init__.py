"""Face embedding on onnxruntime; ``runtime`` is the one place that builds onnxruntime sessions."""
