"""The thorough (chip-level) trainer and its augmentation, on a tiny set of chips.

Chips: centre crops of real LFW photos (6 people x 8) when the shared data is there, else synthetic
textures; the model: dlib's converted ResNet when its .dat is installed, else a seeded random one.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from faceorg.errors import CancelledError  # noqa: E402
from faceorg.progress import Progress  # noqa: E402
from faceorg.train.augment import AugmentConfig, Augmenter, flip, low_resolution  # noqa: E402
from faceorg.train.chips import chips_tensor, embed_chips, embed_chips_and_features  # noqa: E402
from faceorg.train.data import TrainingSet  # noqa: E402
from faceorg.train.dlib_resnet import DlibResNet  # noqa: E402
from faceorg.train.finetune import (  # noqa: E402
    FinetuneRecipe,
    FinetuneResult,
    finetune,
    select_working_set,
)
from faceorg.train.frozen import ThreadChooser, affordable_views  # noqa: E402
from faceorg.weights.registry import DLIB_RESNET_FILE  # noqa: E402
from tests.conftest import INSTALLED_MODELS, SHARED_DATA  # noqa: E402

N_PEOPLE, PER_PERSON, N_UNLABELLED = 6, 8, 12
QUICK = FinetuneRecipe(max_steps=6, eval_every=3, patience=10, views=2, people_per_batch=6, faces_per_person=4,
                       unlabelled_per_batch=8, seed=0)
RUN = dict(device="cpu", cpu_threads=1)


def lfw_chips() -> tuple[np.ndarray, np.ndarray] | None:
    """6 people x 8 centre crops (resized to 150) and 12 photos of others, or None without LFW."""
    from PIL import Image

    images = SHARED_DATA / "lfw" / "images"
    if not images.is_dir():
        return None
    people = [p for p in sorted(images.iterdir()) if len(list(p.glob("*.jpg"))) >= PER_PERSON]
    people = people[:: max(1, len(people) // N_PEOPLE)][:N_PEOPLE]
    others = [p for p in sorted(images.iterdir())[:200] if p not in people][:N_UNLABELLED]
    paths = [f for p in people for f in sorted(p.glob("*.jpg"))[:PER_PERSON]]
    paths += [sorted(p.glob("*.jpg"))[0] for p in others]

    def crop(path: Path) -> np.ndarray:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB").crop((60, 60, 190, 190)).resize((150, 150)))

    return np.stack([crop(p) for p in paths]), np.repeat(np.arange(N_PEOPLE), PER_PERSON)


def texture_chips() -> tuple[np.ndarray, np.ndarray]:
    """Each person a smooth random texture; each face it plus noise."""
    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, (N_PEOPLE + N_UNLABELLED, 3, 10, 10)).astype(np.float32)
    smooth = torch.nn.functional.interpolate(torch.from_numpy(base), size=(150, 150), mode="bicubic")
    people = np.concatenate([np.repeat(np.arange(N_PEOPLE), PER_PERSON), N_PEOPLE + np.arange(N_UNLABELLED)])
    chips = smooth.numpy()[people] + rng.normal(0, 25, (len(people), 3, 150, 150))
    return np.clip(chips, 0, 255).astype(np.uint8).transpose(0, 2, 3, 1), people[: N_PEOPLE * PER_PERSON]


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> None:
    torch.set_num_threads(1)


@pytest.fixture(scope="module")
def model() -> DlibResNet:
    dat = INSTALLED_MODELS / DLIB_RESNET_FILE
    if dat.is_file():
        return DlibResNet.from_dat(dat)
    torch.manual_seed(0)
    return DlibResNet().eval()


@pytest.fixture(scope="module")
def training() -> TrainingSet:
    found = lfw_chips() or texture_chips()
    chips, labels = found
    labels = np.concatenate([labels, np.full(len(chips) - len(labels), -1)])
    return TrainingSet(face_ids=np.arange(len(labels)), labels=labels, person_ids=np.arange(N_PEOPLE),
                       cannot_link=[(0, len(labels) - 1), (1, 9)], load_chips=lambda rows: chips[rows])


@pytest.fixture(scope="module")
def trained(training: TrainingSet, model: DlibResNet) -> tuple[FinetuneResult, list[str]]:
    messages: list[str] = []
    result = finetune(training, model, QUICK, progress=lambda s, m, text: messages.append(text), **RUN)
    return result, messages


def same_weights(a: torch.nn.Module, b: torch.nn.Module, prefix: str = "") -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return all(torch.equal(sa[k], sb[k]) for k in sa if k.startswith(prefix))


# --------------------------------------------------------------------------------------- finetune
def test_runs_steps_and_keeps_the_best_held_out_score(trained: tuple[FinetuneResult, list[str]]) -> None:
    result, messages = trained
    assert result.steps == QUICK.max_steps and result.stop_reason == "max_steps"
    assert result.before is not None and result.after is not None
    assert result.after.verification_rate >= result.before.verification_rate
    assert len(result.history) >= 2 and all(r.held_out is not None for r in result.history)
    assert result.views == 2 and result.threads == 1 and result.n_held_out > 0
    assert any("preparing faces" in m for m in messages) and any("round 2" in m for m in messages)


def test_model_passed_in_is_not_changed(training: TrainingSet, model: DlibResNet,
                                        trained: tuple[FinetuneResult, list[str]]) -> None:
    reference = DlibResNet.from_dat(INSTALLED_MODELS / DLIB_RESNET_FILE) if (
        INSTALLED_MODELS / DLIB_RESNET_FILE).is_file() else None
    result, _ = trained
    assert result.model is not model
    if reference is not None:
        assert same_weights(model, reference)


def test_zero_steps_returns_identical_weights(training: TrainingSet, model: DlibResNet) -> None:
    result = finetune(training, model, replace(QUICK, max_steps=0), **RUN)
    assert result.stop_reason == "no steps" and result.steps == 0 and not result.changed
    assert result.model is not model and same_weights(result.model, model)


def last_weights_run(training: TrainingSet, model: DlibResNet, stages: int) -> FinetuneResult:
    """Two steps without a held-out set (no early stopping: the last weights come back)."""
    no_holdout = np.zeros(len(training), dtype=bool)
    return finetune(training, model, replace(QUICK, trainable_stages=stages, max_steps=2), holdout=no_holdout,
                    **RUN)


@pytest.fixture(scope="module")
def two_stage_run(training: TrainingSet, model: DlibResNet) -> FinetuneResult:
    return last_weights_run(training, model, 2)


@pytest.mark.parametrize("stages", [1, 2])
def test_only_the_last_stages_and_fc_change(training: TrainingSet, model: DlibResNet, stages: int,
                                            two_stage_run: FinetuneResult) -> None:
    result = two_stage_run if stages == 2 else last_weights_run(training, model, stages)
    assert result.changed and result.before is None
    for part in ["stem."] + [f"stages.{i}." for i in range(5 - stages)]:
        assert same_weights(result.model, model, part), part
    for i in range(5 - stages, 5):
        assert not same_weights(result.model, model, f"stages.{i}.")
    assert not torch.equal(result.model.fc.weight, model.fc.weight)
    biases = [k for k in model.state_dict() if k.endswith("conv1.bias") or k.endswith("conv2.bias")]
    assert all(torch.equal(result.model.state_dict()[k], model.state_dict()[k]) for k in biases)


def test_seeded_runs_are_reproducible(training: TrainingSet, model: DlibResNet,
                                      two_stage_run: FinetuneResult) -> None:
    assert same_weights(last_weights_run(training, model, 2).model, two_stage_run.model)


def test_cancel_stops_with_cancelled_error(training: TrainingSet, model: DlibResNet) -> None:
    calls = []

    def cancel() -> bool:  # true at the first training step (after the one cache chunk)
        calls.append(1)
        return len(calls) > 1

    with pytest.raises(CancelledError):
        finetune(training, model, QUICK, cancel=cancel, **RUN)
    progress = Progress()
    progress.cancel()
    with pytest.raises(CancelledError):
        finetune(training, model, QUICK, cancel=progress.check_cancelled, **RUN)


def test_nothing_to_train_and_missing_chips(training: TrainingSet, model: DlibResNet) -> None:
    unlabelled = TrainingSet(face_ids=training.face_ids, labels=np.full(len(training), -1),
                             person_ids=[], cannot_link=np.zeros((0, 2)), load_chips=training.load_chips)
    result = finetune(unlabelled, model, QUICK, **RUN)
    assert result.stop_reason == "nothing to train" and same_weights(result.model, model)
    no_chips = TrainingSet(face_ids=training.face_ids, labels=training.labels,
                           person_ids=training.person_ids, cannot_link=training.cannot_link)
    with pytest.raises(ValueError, match="chips"):
        finetune(no_chips, model, QUICK, **RUN)


def test_trained_model_embeds_like_the_cache_says(training: TrainingSet,
                                                  trained: tuple[FinetuneResult, list[str]]) -> None:
    """The returned module gives the held-out score the trainer reported (same features, same fc)."""
    result, _ = trained
    rows = np.arange(len(training))
    embeddings, features = embed_chips_and_features(result.model, training.load_chips, rows, batch=16,
                                                    device="cpu")
    assert embeddings.shape == (len(rows), 128) and features.shape == (len(rows), 256)
    assert np.allclose(embeddings, features @ result.model.fc.weight.detach().numpy().T, atol=1e-4)
    assert np.allclose(embed_chips(result.model, training.load_chips, rows[:5], device="cpu"),
                       embeddings[:5], atol=1e-5)


# --------------------------------------------------------------------------------------- pieces
def test_chips_tensor_accepts_both_layouts() -> None:
    hwc = np.random.default_rng(0).integers(0, 256, (2, 150, 150, 3)).astype(np.uint8)
    chw = chips_tensor(hwc)
    assert chw.shape == (2, 3, 150, 150) and chw.dtype == torch.float32
    assert torch.equal(chips_tensor(chw.numpy()), chw)
    with pytest.raises(ValueError):
        chips_tensor(np.zeros((2, 100, 100, 3)))


def test_working_set_caps_unlabelled_and_keeps_linked_faces() -> None:
    labels = np.concatenate([np.repeat(np.arange(5), 4), np.full(50, -1)])
    links = np.array([[0, 60]])
    holdout = np.zeros(len(labels), dtype=bool)
    holdout[[0, 4]] = True
    work = select_working_set(labels, links, holdout, FinetuneRecipe(max_unlabelled=10, max_reference=5))
    assert 60 in work.rows and len(work.rows) == 20 + 1 + 10
    assert work.reference.sum() == 5 and not np.any(work.reference & work.holdout)
    assert work.holdout.sum() == 2 and tuple(work.rows[work.cannot_link[0]]) == (0, 60)


def test_affordable_views_and_thread_choice() -> None:
    assert affordable_views(3, 100, 1000, 10**9) == 3
    assert affordable_views(3, 100, 1000, 250_000) == 2
    assert affordable_views(3, 100, 1000, 10) == 1
    assert ThreadChooser(2, torch.device("cpu")).next_threads() == 2
    assert ThreadChooser(None, torch.device("cuda")).chosen is None
    chooser = ThreadChooser(None, torch.device("cpu"))
    if chooser.trying:
        first = chooser.next_threads()
        chooser.record(first, 0.01)
        second = chooser.next_threads()
        chooser.record(second, 0.002)
        assert (first, chooser.chosen) == (1, second)


def test_augmenter_is_seeded_and_stays_in_range() -> None:
    x = chips_tensor(np.random.default_rng(1).integers(0, 256, (8, 150, 150, 3)).astype(np.uint8))
    aug = Augmenter()
    a = aug(x, torch.Generator().manual_seed(5))
    b = aug(x, torch.Generator().manual_seed(5))
    c = aug(x, torch.Generator().manual_seed(6))
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert a.shape == x.shape and float(a.min()) >= 0 and float(a.max()) <= 255


def test_augmenter_with_nothing_to_do_is_the_identity() -> None:
    x = chips_tensor(np.random.default_rng(2).integers(0, 256, (4, 150, 150, 3)).astype(np.uint8))
    config = AugmentConfig(flip_p=0, shift_px=0, scale=0, rotate_deg=0, brightness=0, contrast=0,
                           gray_p=0, low_res_p=0)
    assert torch.allclose(Augmenter(config)(x, torch.Generator().manual_seed(0)), x, atol=0.02)


def test_flip_and_low_resolution_pieces() -> None:
    x = torch.arange(2 * 3 * 4 * 4, dtype=torch.float32).view(2, 3, 4, 4)
    flipped = flip(x, torch.tensor([True, False]))
    assert torch.equal(flipped[0], x[0].flip(2)) and torch.equal(flipped[1], x[1])
    y = torch.rand(3, 3, 150, 150) * 255
    out = low_resolution(y, torch.tensor([0, 30, 150]))
    assert torch.equal(out[0], y[0]) and torch.equal(out[2], y[2])
    assert float((out[1] - y[1]).abs().mean()) > 1.0  # detail lost
