"""status_link and web_submission: the web form's status links and sent forms

Revision ID: 0007_web
Revises: 0006_reviewlane
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

import bot.store.models

revision = "0007_web"
down_revision = "0006_reviewlane"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "status_link",
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("created_at", bot.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", bot.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"]),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    with op.batch_alter_table("status_link", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_status_link_case_id"), ["case_id"], unique=False)
    op.create_table(
        "web_submission",
        sa.Column("form_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("at", bot.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"]),
        sa.PrimaryKeyConstraint("form_hash"),
    )
    with op.batch_alter_table("web_submission", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_web_submission_case_id"), ["case_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("web_submission", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_web_submission_case_id"))
    op.drop_table("web_submission")
    with op.batch_alter_table("status_link", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_status_link_case_id"))
    op.drop_table("status_link")
