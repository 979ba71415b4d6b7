"""case_offer: cases offered to on-duty staff (roster, hand-over)

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

import bot.store.models

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "case_offer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("user", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("offered_at", bot.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("answered_at", bot.store.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("accepted", sa.Boolean(), nullable=True),
        sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("case_offer", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_offer_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_case_offer_user"), ["user"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("case_offer", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_offer_user"))
        batch_op.drop_index(batch_op.f("ix_case_offer_case_id"))
    op.drop_table("case_offer")
