"""tenancy: the counties each flow is published to

Every flow deployed before this revision is published to every county, so existing databases go on
starting the same matters in the same villages.

Revision ID: 0007_tenancy
Revises: 0001
Create Date: 2026-11-23
"""

from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa


revision = "0007_tenancy"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    publication = op.create_table(
        "flow_publication",
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("county_id", sa.Integer(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_by", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["county_id"], ["org_unit.id"], name=op.f("fk_flow_publication_county_id_org_unit")),
        sa.PrimaryKeyConstraint("key", "county_id", name=op.f("pk_flow_publication")),
    )
    op.create_index(op.f("ix_flow_publication_county_id"), "flow_publication", ["county_id"], unique=False)

    connection = op.get_bind()
    definition = sa.table("definition_version", sa.column("key", sa.String))
    unit = sa.table("org_unit", sa.column("id", sa.Integer), sa.column("level", sa.String))
    keys = sorted(connection.execute(sa.select(definition.c.key).distinct()).scalars())
    counties = sorted(connection.execute(sa.select(unit.c.id).where(unit.c.level == "county")).scalars())
    now = datetime.now(timezone.utc)
    rows = [{"key": k, "county_id": c, "published_at": now, "published_by": None} for k in keys for c in counties]
    if rows:
        op.bulk_insert(publication, rows)


def downgrade() -> None:
    op.drop_index(op.f("ix_flow_publication_county_id"), table_name="flow_publication")
    op.drop_table("flow_publication")
