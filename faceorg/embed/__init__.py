"""Face embedding on onnxruntime; ``runtime`` is the one place that builds onnxruntime sessions."""

from pathlib import Path

# The base embedder's activation ranges for its int8 copy (see ``quantize``). Here, not in ``quantize``:
# checking the installed models needs this path, and importing ``quantize`` loads onnx (0.6 s holding
# the GIL, which froze the GUI when a scan started).
BASE_RANGES_FILE = Path(__file__).with_name("data") / "embedder-dlib-v1.int8-ranges.json"
