"""subscriptions made in the dashboard (web)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-08 01:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "web_subscriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("target", sa.String(length=128), nullable=False),
        sa.Column("url_schema", sa.String(length=32), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=True),
        sa.Column("promotion_id", sa.Integer(), nullable=True),
        sa.Column("postcode", sa.String(length=16), nullable=True),
        sa.Column("radius_km", sa.Double(), nullable=True),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tested_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("test_result", sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_web_subscriptions_product_id_products")
        ),
        sa.ForeignKeyConstraint(
            ["promotion_id"], ["promotions.id"], name=op.f("fk_web_subscriptions_promotion_id_promotions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_subscriptions")),
        sa.UniqueConstraint("target", name=op.f("uq_web_subscriptions_target")),
    )


def downgrade() -> None:
    op.drop_table("web_subscriptions")
