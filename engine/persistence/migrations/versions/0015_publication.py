"""publication: flows shown to villagers once an administrator reviewed their category and number

Revision ID: 0015_publication
Revises: 0001
Create Date: 2026-12-06
"""

from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa


revision = "0015_publication"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('villager_listing',
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.Column('number', sa.String(length=32), nullable=False),
    sa.Column('listed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('listed_by', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_villager_listing'))
    )
    # Flows villagers saw before this revision stay listed when they carry a category and a number.
    connection = op.get_bind()
    definition = sa.table(
        "definition_version",
        sa.column("key", sa.String),
        sa.column("version", sa.Integer),
        sa.column("meta", sa.JSON),
        sa.column("retired", sa.Boolean),
    )
    newest = {}
    for key, version, meta, retired in connection.execute(
        sa.select(definition.c.key, definition.c.version, definition.c.meta, definition.c.retired)
    ):
        if not retired and (key not in newest or version > newest[key][0]):
            newest[key] = (version, meta or {})
    now = datetime.now(timezone.utc)
    rows = [
        {"key": key, "version": version, "category": meta["category"], "number": meta["number"],
         "listed_at": now, "listed_by": None}
        for key, (version, meta) in sorted(newest.items())
        if meta.get("category") and meta.get("number")
    ]
    if rows:
        listing = sa.table(
            "villager_listing",
            sa.column("key", sa.String), sa.column("version", sa.Integer), sa.column("category", sa.String),
            sa.column("number", sa.String), sa.column("listed_at", sa.DateTime(timezone=True)),
            sa.column("listed_by", sa.String),
        )
        op.bulk_insert(listing, rows)


def downgrade() -> None:
    op.drop_table('villager_listing')
