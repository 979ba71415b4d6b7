"""case.number_request_offered_at: when staff were offered "ask for a number by email"

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

import bot.store.models

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("case") as batch:
        batch.add_column(sa.Column("number_request_offered_at", bot.store.models.UTCDateTime(),
                                   nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("case") as batch:
        batch.drop_column("number_request_offered_at")
