"""Steps several GUI tests share: going to a page the way the user does, waiting for it to load."""

from __future__ import annotations

from sqlalchemy import select

from tests.gui.conftest import wait_idle


def open_photo(win, qtbot, photo_id: int, face_id: int | None = None):  # type: ignore[no-untyped-def]
    """Show a photo in the photo view (as opening it from a face does) and wait until it is loaded."""
    from faceorg.gui.main_window import Page

    win.navigate(Page("photo", photo_id, face_id))
    wait_idle(qtbot, win)
    assert win.stack.currentWidget() is win.photo_view and win.photo_view.photo is not None
    return win.photo_view


def distances_to(library, seed: int, faces: list[int]) -> dict[int, float]:  # type: ignore[no-untyped-def]
    """Each face's distance to ``seed`` under the active model, from the stored vectors (faces without one left
    out)."""
    import numpy as np

    from faceorg.store.models import Embedding
    from faceorg.versions.records import active_version

    version = active_version(library)
    if version is None:
        return {}
    with library.session() as s:
        rows = {f: v for f, v in s.execute(select(Embedding.face_id, Embedding.vector).where(
            Embedding.model_version_id == version.id, Embedding.face_id.in_([seed, *faces])))}
    if seed not in rows:
        return {}
    unit = {f: np.frombuffer(v, np.float32) / np.linalg.norm(np.frombuffer(v, np.float32)) for f, v in rows.items()}
    return {f: float(np.linalg.norm(unit[f] - unit[seed])) for f in faces if f in unit}
