"""`faceorg train --dataset DIR` goes through the same pipeline as the library's depths: the geometry
guard chooses how far to ship, and the gate judges the model as it will run."""

from __future__ import annotations

import copy
import shutil
import types
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from faceorg.progress import Progress
from faceorg.store import open_library
from faceorg.store.models import ModelVersion

PEOPLE = ["Colin_Powell", "Donald_Rumsfeld", "George_W_Bush", "Tony_Blair", "Gerhard_Schroeder"]


@pytest.fixture()
def dataset(shared_data: Path, models_dir: Path, tmp_path: Path) -> Path:
    root = tmp_path / "dataset"
    for person in PEOPLE:
        (root / person).mkdir(parents=True)
        for src in sorted((shared_data / "lfw" / "images" / person).glob("*.jpg"))[:6]:
            shutil.copy(src, root / person / src.name)
    return root


def test_a_dataset_model_is_shipped_in_part_and_judged_as_installed(dataset: Path, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    torch = pytest.importorskip("torch")
    import faceorg.retrain.install as install
    import faceorg.train.finetune as finetune_module
    from faceorg.retrain.retrain import retrain_from_dataset
    from faceorg.retrain.shipping import MIN_GEOMETRY_KEPT, SHIP_FRACTIONS

    def scrambling_finetune(training: Any, module: Any, **kwargs: Any) -> Any:
        """A 'fine-tuning' that rearranges every face (its last stages scrambled)."""
        tuned = copy.deepcopy(module)
        generator = torch.Generator().manual_seed(1)
        with torch.no_grad():
            for p in [*tuned.stages[-1].parameters(), *tuned.stages[-2].parameters()]:
                p.copy_(torch.randn(p.shape, generator=generator) * p.std() + p.mean())
        return types.SimpleNamespace(model=tuned, stop_reason="test")

    judged: list[int] = []
    real = install.embed_as_installed

    def spy(*args: Any, **kwargs: Any) -> Any:
        out = real(*args, **kwargs)
        judged.append(len(out))
        return out

    monkeypatch.setattr(finetune_module, "finetune", scrambling_finetune)
    monkeypatch.setattr("faceorg.retrain.deep.embed_as_installed", spy)
    with open_library(tmp_path / "lib.sqlite") as library:
        report = retrain_from_dataset(library, dataset, dry_run=True, progress=Progress())
        with library.session() as s:
            assert s.scalar(select(func.count()).select_from(ModelVersion)) == 1  # the base only: a dry run
    assert report.depth == "dataset" and report.dry_run and report.summary[-1].startswith("Dry run")
    assert report.ship_fraction is not None and report.ship_fraction < SHIP_FRACTIONS[0]  # the geometry guard
    assert report.geometry_kept is not None and report.geometry_kept >= MIN_GEOMETRY_KEPT  # where it stopped
    assert judged and judged[0] == report.training["labelled_faces"]  # every dataset face, as installed
    assert report.training["people"] == len(PEOPLE)
