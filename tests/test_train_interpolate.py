"""Weight-space interpolation, against an element-by-element loop."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from faceorg.train.interpolate import interpolate_weights  # noqa: E402


def tiny(seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.Linear(4, 2))
    model[1].num_batches_tracked.fill_(seed + 5)
    return model


def test_interpolation_matches_a_loop_and_leaves_the_inputs_alone() -> None:
    start, tuned = tiny(0), tiny(1)
    before_start = {k: v.clone() for k, v in start.state_dict().items()}
    before_tuned = {k: v.clone() for k, v in tuned.state_dict().items()}
    for fraction in (0.0, 0.4, 1.0):
        mixed = interpolate_weights(start, tuned, fraction).state_dict()
        for key, value in mixed.items():
            s, t = before_start[key], before_tuned[key]
            if not t.is_floating_point():
                assert torch.equal(value, t)  # counters come from the tuned model
                continue
            flat_s, flat_t, flat_m = s.flatten().tolist(), t.flatten().tolist(), value.flatten().tolist()
            for x, y, m in zip(flat_s, flat_t, flat_m):
                assert m == pytest.approx(x + fraction * (y - x), abs=1e-6)
    assert all(torch.equal(v, before_start[k]) for k, v in start.state_dict().items())
    assert all(torch.equal(v, before_tuned[k]) for k, v in tuned.state_dict().items())


def test_mismatched_models_and_fractions_are_refused() -> None:
    with pytest.raises(ValueError, match="same tensors"):
        interpolate_weights(tiny(0), torch.nn.Linear(3, 4), 0.5)
    with pytest.raises(ValueError, match="within"):
        interpolate_weights(tiny(0), tiny(1), 1.5)
