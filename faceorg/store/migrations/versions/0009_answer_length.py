"""prompt_answers.answer holds "one-by-one" (10 characters): String(8) -> String(16).

SQLite never enforced the length; PostgreSQL refused the answer.

Revision ID: 0009_answer_length
Revises: 0008_shared
"""
import sqlalchemy as sa
from alembic import op

revision = '0009_answer_length'
down_revision = '0008_shared'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('prompt_answers') as batch:  # SQLite: the table is copied (it is small)
        batch.alter_column('answer', type_=sa.String(length=16), existing_type=sa.String(length=8),
                           existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table('prompt_answers') as batch:
        batch.alter_column('answer', type_=sa.String(length=8), existing_type=sa.String(length=16),
                           existing_nullable=False)
