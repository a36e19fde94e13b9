"""trusted time per run: RFC 3161 tokens over the chain head (attestation)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-08 01:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "chain_timestamps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("head_sha256", sa.String(length=64), nullable=False),
        sa.Column("stamped_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("authority", sa.String(length=200), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chain_timestamps")),
    )
    op.create_index(op.f("ix_chain_timestamps_seq"), "chain_timestamps", ["seq"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_chain_timestamps_seq"), table_name="chain_timestamps")
    op.drop_table("chain_timestamps")
