"""operations.client: who did an operation, so undo takes back only the caller's own (shared libraries)

Revision ID: 0008_shared
Revises: 0004_prompts
Create Date: 2026-12-06 13:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0008_shared'
down_revision = '0004_prompts'
branch_labels = None
depends_on = None


# Plain ADD COLUMN (no batch copy), skipped when an interrupted earlier run already added it.
def upgrade() -> None:
    if 'client' in {c['name'] for c in sa.inspect(op.get_bind()).get_columns('operations')}:
        return
    op.add_column('operations', sa.Column('client', sa.String(length=128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('operations') as batch_op:
        batch_op.drop_column('client')
