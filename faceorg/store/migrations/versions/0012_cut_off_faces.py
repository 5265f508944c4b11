"""faces.quality: a face cut off by the photo's edge counts for the share of it the photo shows.

Its chip is partly black fill beyond the edge, and that fill's sharp edge passed for detail: such faces
became group covers and sorted first. New scans measure it (``faceorg.detect.quality``); here each
existing face near an edge has its quality scaled by the share of its face area inside the photo,
computed from its landmarks as faceorg computes it (kept here as it was when this migration was written).
Its sharpness stays as it was measured.

Revision ID: 0012_cut_off_faces
Revises: 0010_photo_dates
"""
import numpy as np
import sqlalchemy as sa
from alembic import op

revision = '0012_cut_off_faces'
down_revision = '0010_photo_dates'
branch_labels = None
depends_on = None

BATCH = 5000
CHIP = 150
TEMPLATE = np.array([[46.2, 43.8], [101.4, 44.1], [74.6, 76.4], [50.0, 102.3], [96.8, 102.7]])
FACE_AREA = (24, 22, 124, 125)  # x0, y0, x1, y1 on the 150 px chip


def _visible(landmarks: object, width: int, height: int) -> float:
    """The share of the chip's face area that comes from inside a ``width`` x ``height`` photo."""
    try:
        src = np.asarray(landmarks, dtype=np.float64).reshape(5, 2)
    except (TypeError, ValueError):
        return 1.0
    src_c, dst_c = src - src.mean(axis=0), TEMPLATE - TEMPLATE.mean(axis=0)
    u, singular, vt = np.linalg.svd(dst_c.T @ src_c / 5)
    sign = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[1, 1] = -1.0
    variance = (src_c ** 2).sum() / 5
    if variance <= 0:
        return 1.0
    scale = float(np.trace(np.diag(singular) @ sign) / variance)
    rotation = scale * (u @ sign @ vt)
    translation = TEMPLATE.mean(axis=0) - rotation @ src.mean(axis=0)
    x0, y0, x1, y1 = FACE_AREA
    ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float64)
    chip_points = np.column_stack([xs.ravel(), ys.ravel()])
    source = (chip_points - translation) @ np.linalg.inv(rotation).T
    inside = ((source[:, 0] >= -0.5) & (source[:, 0] <= width - 0.5)
              & (source[:, 1] >= -0.5) & (source[:, 1] <= height - 0.5))
    return float(inside.mean())


def upgrade() -> None:
    conn = op.get_bind()
    faces = sa.table('faces', sa.column('id', sa.Integer), sa.column('photo_id', sa.Integer),
                     sa.column('x', sa.Float), sa.column('y', sa.Float), sa.column('w', sa.Float),
                     sa.column('h', sa.Float), sa.column('landmarks', sa.JSON), sa.column('quality', sa.Float))
    photos = sa.table('photos', sa.column('id', sa.Integer), sa.column('width', sa.Integer),
                      sa.column('height', sa.Integer))
    # Only a face within half its size of an edge can reach past it (the face area is about its box).
    near_edge = sa.or_(faces.c.x < 0.5 * faces.c.w, faces.c.y < 0.5 * faces.c.h,
                       faces.c.x + 1.5 * faces.c.w > photos.c.width, faces.c.y + 1.5 * faces.c.h > photos.c.height)
    last = 0
    while True:
        rows = conn.execute(sa.select(faces.c.id, faces.c.landmarks, faces.c.quality, photos.c.width, photos.c.height)
                            .join(photos, photos.c.id == faces.c.photo_id)
                            .where(faces.c.id > last, photos.c.width.is_not(None), photos.c.height.is_not(None),
                                   near_edge)
                            .order_by(faces.c.id).limit(BATCH)).all()
        if not rows:
            break
        changed = []
        for face_id, landmarks, quality, width, height in rows:
            visible = _visible(landmarks, width, height)
            if visible < 1.0:
                changed.append({'fid': face_id, 'q': float(quality or 0.0) * visible})
        if changed:
            conn.execute(faces.update().where(faces.c.id == sa.bindparam('fid')).values(quality=sa.bindparam('q')),
                         changed)
        last = rows[-1][0]


def downgrade() -> None:
    """The share visible is not kept, so the qualities stay as they are (lower for cut-off faces)."""
