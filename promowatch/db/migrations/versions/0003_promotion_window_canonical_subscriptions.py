"""how a promotion's window was established; canonical products (aliases); when subscriptions were first seen

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07 19:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("promotions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("window_basis", sa.String(length=16), nullable=True))
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.add_column(sa.Column("canonical_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("fk_products_canonical_id_products", "products", ["canonical_id"], ["id"])
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("target", sa.String(length=128), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscriptions")),
        sa.UniqueConstraint("target", name=op.f("uq_subscriptions_target")),
    )


def downgrade() -> None:
    op.drop_table("subscriptions")
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_constraint("fk_products_canonical_id_products", type_="foreignkey")
        batch_op.drop_column("canonical_id")
    with op.batch_alter_table("promotions", schema=None) as batch_op:
        batch_op.drop_column("window_basis")
