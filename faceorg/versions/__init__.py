"""Embedder versions of a library: their records in the database and their files, checked before use.

- :mod:`faceorg.versions.files`: the library's model folder, every version's files checked against
  the SHA-256 the database (or, for the installed base model, the code's registry) records, names
  kept inside their folder, and leftovers of interrupted saves cleaned up.
- :mod:`faceorg.versions.records`: which version is active, the base version, version names, the
  atomic swap, a version's last layer.

Making a new version (export, int8 copy, re-embedding every face) is retraining's job
(:mod:`faceorg.retrain.install`).
"""

from faceorg.versions.files import (
           library_models_dir,
           model_path,
           runtime_model_path,
           verified_model_path,
)
from faceorg.versions.records import active_version, ensure_base_version

__all__ = ["active_version", "ensure_base_version", "library_models_dir", "model_path", "runtime_model_path",
           "verified_model_path"]
