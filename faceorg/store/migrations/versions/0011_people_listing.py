"""people.face_count: each person's number of assigned faces, kept by the database itself (triggers on
assignments), so the People view lists its first screen of cards without counting a million faces.

No index on it: the people table is small next to the faces (a scan of 50k people for the biggest
unnamed groups takes milliseconds), and an indexed count would cost every assignment an index update.

SQLite: a row trigger per insert, delete and change of person. PostgreSQL: statement triggers over the
transition tables (one UPDATE of the people rows per statement: row triggers would update one person's
row once per face, and in one transaction each such update walks every earlier version of the row).

A later migration that copies ``assignments`` (a batch ALTER on SQLite) drops these triggers with the old
table and must create them again (:func:`create_count_triggers`) after the copy, then recount.

Revision ID: 0011_people_listing
Revises: 0009_answer_length
"""
import sqlalchemy as sa
from alembic import op

revision = '0011_people_listing'
down_revision = '0009_answer_length'
branch_labels = None
depends_on = None

SQLITE_TRIGGERS = (
    """CREATE TRIGGER IF NOT EXISTS tr_assignments_count_insert AFTER INSERT ON assignments BEGIN
        UPDATE people SET face_count = face_count + 1 WHERE id = NEW.person_id; END""",
    """CREATE TRIGGER IF NOT EXISTS tr_assignments_count_delete AFTER DELETE ON assignments BEGIN
        UPDATE people SET face_count = face_count - 1 WHERE id = OLD.person_id; END""",
    """CREATE TRIGGER IF NOT EXISTS tr_assignments_count_update AFTER UPDATE OF person_id ON assignments
        WHEN OLD.person_id IS NOT NEW.person_id BEGIN
        UPDATE people SET face_count = face_count - 1 WHERE id = OLD.person_id;
        UPDATE people SET face_count = face_count + 1 WHERE id = NEW.person_id; END""",
)

# One function per event: a statement trigger with transition tables serves one event only.
POSTGRES_FUNCTIONS = {
    "insert": """UPDATE people p SET face_count = p.face_count + d.n
        FROM (SELECT person_id, count(*) AS n FROM new_rows GROUP BY person_id) d WHERE p.id = d.person_id;""",
    "delete": """UPDATE people p SET face_count = p.face_count - d.n
        FROM (SELECT person_id, count(*) AS n FROM old_rows GROUP BY person_id) d WHERE p.id = d.person_id;""",
    "update": """UPDATE people p SET face_count = p.face_count + d.n
        FROM (SELECT person_id, sum(n) AS n FROM (
                SELECT o.person_id, -1 AS n FROM old_rows o JOIN new_rows w ON w.face_id = o.face_id
                WHERE w.person_id <> o.person_id
                UNION ALL
                SELECT w.person_id, 1 AS n FROM old_rows o JOIN new_rows w ON w.face_id = o.face_id
                WHERE w.person_id <> o.person_id) moved
              GROUP BY person_id) d
        WHERE p.id = d.person_id AND d.n <> 0;""",
}
POSTGRES_REFERENCING = {"insert": "NEW TABLE AS new_rows", "delete": "OLD TABLE AS old_rows",
                        "update": "OLD TABLE AS old_rows NEW TABLE AS new_rows"}

RECOUNT = ("UPDATE people SET face_count = "
           "(SELECT count(*) FROM assignments WHERE assignments.person_id = people.id)")


def create_count_triggers(dialect: str) -> None:
    """The triggers that keep ``people.face_count`` (idempotent)."""
    if dialect == 'sqlite':
        for sql in SQLITE_TRIGGERS:
            op.execute(sql)
        return
    for event, body in POSTGRES_FUNCTIONS.items():
        op.execute(f"CREATE OR REPLACE FUNCTION faceorg_count_{event}() RETURNS trigger LANGUAGE plpgsql AS $$ "
                   f"BEGIN {body} RETURN NULL; END $$")
        op.execute(f"DROP TRIGGER IF EXISTS tr_assignments_count_{event} ON assignments")
        op.execute(f"CREATE TRIGGER tr_assignments_count_{event} AFTER {event.upper()} ON assignments "
                   f"REFERENCING {POSTGRES_REFERENCING[event]} FOR EACH STATEMENT "
                   f"EXECUTE FUNCTION faceorg_count_{event}()")


def drop_count_triggers(dialect: str) -> None:
    for event in POSTGRES_FUNCTIONS:
        op.execute(f"DROP TRIGGER IF EXISTS tr_assignments_count_{event}" + ("" if dialect == 'sqlite'
                                                                            else " ON assignments"))
        if dialect != 'sqlite':
            op.execute(f"DROP FUNCTION IF EXISTS faceorg_count_{event}()")


def upgrade() -> None:
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    if 'face_count' not in {c['name'] for c in inspector.get_columns('people')}:
        op.add_column('people', sa.Column('face_count', sa.Integer(), server_default='0', nullable=False))
    create_count_triggers(bind.dialect.name)
    op.execute(RECOUNT)  # in the same transaction as the triggers: no change slips between


def downgrade() -> None:
    drop_count_triggers(op.get_bind().dialect.name)
    with op.batch_alter_table('people') as batch:
        batch.drop_column('face_count')
