"""Entry point of the bundled app (PyInstaller): use the bundled models, then run the `faceorg` command.

Without arguments it opens the app, like the installed `faceorg` command.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def use_bundled_models() -> None:
    """Point faceorg at the models inside the bundle, unless the user chose a models folder."""
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle and not os.environ.get("FACEORG_MODELS_DIR") and (Path(bundle) / "models").is_dir():
        os.environ["FACEORG_MODELS_DIR"] = str(Path(bundle) / "models")


if __name__ == "__main__":
    use_bundled_models()
    from faceorg.cli.main import main

    raise SystemExit(main())
