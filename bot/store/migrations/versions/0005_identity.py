"""identity: who a message belongs to

- ``message.message_id``: the Message-ID (or Slack ``CHANNEL:TS``) as known outside;
  ``external_id`` stays the unique storage key and, for inbound email, now also
  names the sender (two senders reusing one Message-ID are two messages).
- ``case.phone`` / ``case.previous_phones``: the number to call is per case
  (backfilled from the complainant's number).
- ``complainant.chat_user``: a chat user is a person, as an email address is.

Revision ID: 0005_identity
Revises: 0004
"""
import hashlib

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0005_identity"
down_revision = "0004"
branch_labels = None
depends_on = None


def _inbound_email_key(message_id: str, sender: str | None) -> str:
    # A frozen copy of handlers.inbound.dedupe.storage_key (migrations never import code
    # that may change later).
    digest = hashlib.sha256(f"{(sender or '').strip().lower()}\n{message_id}".encode()).hexdigest()
    return f"email-in:{digest}"


def upgrade() -> None:
    with op.batch_alter_table("message") as batch:
        batch.add_column(sa.Column("message_id", sqlmodel.sql.sqltypes.AutoString(length=998),
                                   nullable=True))
    message = sa.table("message", sa.column("id", sa.Integer()),
                       sa.column("external_id", sa.String()), sa.column("message_id", sa.String()),
                       sa.column("sender", sa.String()), sa.column("direction", sa.String()),
                       sa.column("channel", sa.String()))
    conn = op.get_bind()
    conn.execute(sa.update(message).values(message_id=message.c.external_id))
    rows = conn.execute(sa.select(message.c.id, message.c.external_id, message.c.sender)
                        .where(message.c.direction == "inbound", message.c.channel == "email")
                        ).all()
    for row in rows:
        conn.execute(sa.update(message).where(message.c.id == row.id)
                     .values(external_id=_inbound_email_key(row.external_id, row.sender)))
    with op.batch_alter_table("message") as batch:
        batch.alter_column("message_id", existing_type=sqlmodel.sql.sqltypes.AutoString(length=998),
                           nullable=False)
        batch.create_index(batch.f("ix_message_message_id"), ["message_id"], unique=False)

    with op.batch_alter_table("case") as batch:
        batch.add_column(sa.Column("phone", sqlmodel.sql.sqltypes.AutoString(length=32),
                                   nullable=True))
        batch.add_column(sa.Column("previous_phones", sqlmodel.sql.sqltypes.AutoString(length=400),
                                   nullable=False, server_default=""))
    case = sa.table("case", sa.column("phone", sa.String()),
                    sa.column("complainant_id", sa.Integer()))
    complainant = sa.table("complainant", sa.column("id", sa.Integer()),
                           sa.column("phone", sa.String()))
    conn.execute(sa.update(case).values(phone=sa.select(complainant.c.phone)
                                        .where(complainant.c.id == case.c.complainant_id)
                                        .scalar_subquery()))
    # The server default stays: altering it would make SQLite rebuild "case", which the
    # other tables' foreign keys point to.

    with op.batch_alter_table("complainant") as batch:
        batch.add_column(sa.Column("chat_user", sqlmodel.sql.sqltypes.AutoString(length=64),
                                   nullable=True))
        batch.create_index(batch.f("ix_complainant_chat_user"), ["chat_user"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("complainant") as batch:
        batch.drop_index(batch.f("ix_complainant_chat_user"))
        batch.drop_column("chat_user")
    with op.batch_alter_table("case") as batch:
        batch.drop_column("previous_phones")
        batch.drop_column("phone")
    message = sa.table("message", sa.column("external_id", sa.String()),
                       sa.column("message_id", sa.String()),
                       sa.column("direction", sa.String()), sa.column("channel", sa.String()))
    # Back to one row per Message-ID: a second sender's copy cannot be kept under the old key.
    conn = op.get_bind()
    conn.execute(sa.update(message).where(message.c.direction == "inbound",
                                          message.c.channel == "email")
                 .values(external_id=message.c.message_id))
    with op.batch_alter_table("message") as batch:
        batch.drop_index(batch.f("ix_message_message_id"))
        batch.drop_column("message_id")
