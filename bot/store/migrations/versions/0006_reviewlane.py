"""quarantine: the review lane (lane, who decided what, the chat post)

Revision ID: 0006_reviewlane
Revises: 0005_identity
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0006_reviewlane"
down_revision = "0005_identity"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("quarantine") as batch:
        batch.add_column(sa.Column("lane", sqlmodel.sql.sqltypes.AutoString(length=16),
                                   nullable=False, server_default="quarantine"))
        batch.add_column(sa.Column("historical", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
        batch.add_column(sa.Column("decision", sqlmodel.sql.sqltypes.AutoString(length=16),
                                   nullable=True))
        batch.add_column(sa.Column("decided_by", sqlmodel.sql.sqltypes.AutoString(length=200),
                                   nullable=True))
        batch.add_column(sa.Column("case_ref", sqlmodel.sql.sqltypes.AutoString(length=32),
                                   nullable=True))
        batch.add_column(sa.Column("post_channel", sqlmodel.sql.sqltypes.AutoString(length=32),
                                   nullable=True))
        batch.add_column(sa.Column("post_ts", sqlmodel.sql.sqltypes.AutoString(length=32),
                                   nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("quarantine") as batch:
        for column in ("post_ts", "post_channel", "case_ref", "decided_by", "decision",
                       "historical", "lane"):
            batch.drop_column(column)
