"""shared libraries: operations.client (undo takes back only the caller's own), model_files (every
computer using a server library gets its embedder files)

Revision ID: 0008_shared
Revises: 0006_xmp
Create Date: 2026-12-06 13:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0008_shared'
down_revision = '0006_xmp'  # re-chained after 0006_xmp when merging main
branch_labels = None
depends_on = None


# Plain ADD COLUMN (no batch copy) and CREATE TABLE, each skipped when an interrupted earlier run made it.
def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    if 'client' not in {c['name'] for c in inspector.get_columns('operations')}:
        op.add_column('operations', sa.Column('client', sa.String(length=128), nullable=True))
    if not inspector.has_table('model_files'):
        op.create_table(
            'model_files',
            sa.Column('sha256', sa.String(length=64), nullable=False),
            sa.Column('name', sa.String(), nullable=False),
            sa.Column('data', sa.LargeBinary(), nullable=False),
            sa.Column('created_at', sa.DateTime(), nullable=False),
            sa.PrimaryKeyConstraint('sha256', name=op.f('pk_model_files')),
        )


def downgrade() -> None:
    op.drop_table('model_files')
    with op.batch_alter_table('operations') as batch_op:
        batch_op.drop_column('client')
