"""consumers' orders and their status history (orders)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-08 01:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "orders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("retailer_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=True),
        sa.Column("promotion_id", sa.Integer(), nullable=True),
        sa.Column("ordered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("price_paid", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=False),
        sa.Column("promise", sa.String(length=500), nullable=True),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["retailer_id"], ["retailers.id"], name=op.f("fk_orders_retailer_id_retailers")
        ),
        sa.ForeignKeyConstraint(["product_id"], ["products.id"], name=op.f("fk_orders_product_id_products")),
        sa.ForeignKeyConstraint(
            ["promotion_id"], ["promotions.id"], name=op.f("fk_orders_promotion_id_promotions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
        sa.UniqueConstraint("slug", name=op.f("uq_orders_slug")),
    )
    op.create_table(
        "order_status",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("text", sa.String(length=500), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("file_name", sa.String(length=500), nullable=True),
        sa.Column("file_sha256", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_order_status_order_id_orders")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_status")),
    )
    op.create_index("ix_order_status_order_at", "order_status", ["order_id", "at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_order_status_order_at", table_name="order_status")
    op.drop_table("order_status")
    op.drop_table("orders")
