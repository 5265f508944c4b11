"""face_name_origins: where a face's name came from when it was imported from XMP

Revision ID: 0006_xmp
Revises: 0004_prompts
Create Date: 2026-12-06 12:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0006_xmp'
down_revision = '0004_prompts'
branch_labels = None
depends_on = None


# Portable operations only (SQLite and PostgreSQL); skipped when an interrupted earlier run made the table.
def upgrade() -> None:
    if sa.inspect(op.get_bind()).has_table('face_name_origins'):
        return
    op.create_table(
        'face_name_origins',
        sa.Column('face_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(), nullable=False),
        sa.Column('origin', sa.String(length=16), nullable=False),
        sa.Column('path', sa.String(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['face_id'], ['faces.id'], name=op.f('fk_face_name_origins_face_id_faces'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('face_id', name=op.f('pk_face_name_origins')),
    )


def downgrade() -> None:
    op.drop_table('face_name_origins')
