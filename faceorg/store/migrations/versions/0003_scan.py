"""library_state: grouping pending after a scan, and what the last scan could not read or follow

Revision ID: 0003_scan
Revises: 0002
Create Date: 2026-12-06 09:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0003_scan'
down_revision = '0002'
branch_labels = None
depends_on = None


# One CREATE TABLE, skipped when an interrupted earlier run already made it, so the step can be rerun.
def upgrade() -> None:
    if sa.inspect(op.get_bind()).has_table('library_state'):
        return
    op.create_table(
        'library_state',
        sa.Column('key', sa.String(), nullable=False),
        sa.Column('value', sa.JSON(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_library_state')),
    )


def downgrade() -> None:
    op.drop_table('library_state')
