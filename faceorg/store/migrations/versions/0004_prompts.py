"""prompt_answers: the user's answers to review questions, so none is asked twice

Revision ID: 0004_prompts
Revises: 0003_scan
Create Date: 2026-12-06 10:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0004_prompts'
down_revision = '0003_scan'
branch_labels = None
depends_on = None


# Skipped when an interrupted earlier run already made the table, so the step can be rerun.
def upgrade() -> None:
    if sa.inspect(op.get_bind()).has_table('prompt_answers'):
        return
    op.create_table(
        'prompt_answers',
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('answer', sa.String(length=8), nullable=False),
        sa.Column('face_a', sa.Integer(), nullable=True),
        sa.Column('face_b', sa.Integer(), nullable=True),
        sa.Column('faces', sa.JSON(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['face_a'], ['faces.id'], name=op.f('fk_prompt_answers_face_a_faces'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['face_b'], ['faces.id'], name=op.f('fk_prompt_answers_face_b_faces'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_prompt_answers')),
    )
    op.create_index(op.f('ix_prompt_answers_face_a'), 'prompt_answers', ['face_a'], unique=False)
    op.create_index(op.f('ix_prompt_answers_face_b'), 'prompt_answers', ['face_b'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_prompt_answers_face_b'), table_name='prompt_answers')
    op.drop_index(op.f('ix_prompt_answers_face_a'), table_name='prompt_answers')
    op.drop_table('prompt_answers')
