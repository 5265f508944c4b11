"""Allow ``python -m faceorg``."""

from faceorg.cli.main import main

raise SystemExit(main())
