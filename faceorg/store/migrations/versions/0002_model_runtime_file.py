"""model versions get the file that runs them (an int8 copy) and its SHA-256

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 04:10:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


# Plain ALTER TABLE (no batch copy): recreating model_versions would cascade-delete every embedding.
def upgrade() -> None:
    op.add_column('model_versions', sa.Column('runtime_file', sa.String(), nullable=True))
    op.add_column('model_versions', sa.Column('runtime_sha256', sa.String(length=64), nullable=True))


def downgrade() -> None:
    op.drop_column('model_versions', 'runtime_sha256')
    op.drop_column('model_versions', 'runtime_file')
