"""photos.date_key: a photo's date (taken, else its file's time in local time) stored and indexed with its
status and id, so photos by date read in order instead of sorting every photo on each listing.

The key of each existing photo is computed here as faceorg computes it when it records a photo.

Revision ID: 0010_photo_dates
Revises: 0011_people_listing (written on 0009_answer_length; re-chained after main's 0011 landed)
"""
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision = '0010_photo_dates'
down_revision = '0011_people_listing'
branch_labels = None
depends_on = None

BATCH = 5000


def _key(taken_at: object, mtime_ns: int | None) -> str | None:
    """As faceorg.store.photo_dates.photo_date_key (kept here as it was when this migration was written)."""
    if isinstance(taken_at, str):  # SQLite hands back the stored text, PostgreSQL a datetime
        taken_at = datetime.fromisoformat(taken_at)
    if isinstance(taken_at, datetime):
        return taken_at.strftime("%Y-%m-%d %H:%M:%S")
    if mtime_ns is None:
        return None
    try:
        return datetime.fromtimestamp(mtime_ns // 1_000_000_000).strftime("%Y-%m-%d %H:%M:%S")
    except (OverflowError, OSError, ValueError):
        return None


def upgrade() -> None:
    op.add_column('photos', sa.Column('date_key', sa.String(length=19), nullable=True))
    conn = op.get_bind()
    photos = sa.table('photos', sa.column('id', sa.Integer), sa.column('taken_at', sa.String),
                      sa.column('mtime_ns', sa.BigInteger), sa.column('date_key', sa.String))
    last = 0
    while True:
        rows = conn.execute(sa.select(photos.c.id, photos.c.taken_at, photos.c.mtime_ns).where(photos.c.id > last)
                            .order_by(photos.c.id).limit(BATCH)).all()
        if not rows:
            break
        conn.execute(photos.update().where(photos.c.id == sa.bindparam('pid'))
                     .values(date_key=sa.bindparam('key')),
                     [{'pid': r[0], 'key': _key(r[1], r[2])} for r in rows])
        last = rows[-1][0]
    op.create_index('ix_photos_by_date', 'photos', ['status', 'date_key', 'id'])


def downgrade() -> None:
    op.drop_index('ix_photos_by_date', table_name='photos')
    # In place (SQLite 3.35+ drops a column itself): copying the table would cascade to every face.
    op.drop_column('photos', 'date_key')
