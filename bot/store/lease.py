"""Leases in the database: one instance at a time does a job, another takes over when it dies.

Several ``complaint-bot run`` processes may share one database and one
mailbox. Duplicates are already impossible in the database (one transaction
per message, unique Message-IDs, outbox dedupe keys, ``SKIP LOCKED`` claims),
but only one of them should hold the IMAP connection and its IDLE: the
``lease`` row for the mailbox says who, until when. The holder renews it every
:data:`RENEW_SECONDS`; if it dies, the lease runs out after
:data:`LEASE_SECONDS` and another instance takes it. A process that was killed
on this very host is recognised at once (its pid is gone), so a restart by
systemd resumes within seconds instead of waiting for the lease to run out.

Taking a lease is a compare-and-set on the row as it was read, so two
instances racing for an expired lease cannot both win; this works the same
on SQLite and PostgreSQL.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlmodel import col

from bot.store.db import session_scope
from bot.store.models import Lease, Outbox, OutboxStatus

log = logging.getLogger(__name__)

LEASE_SECONDS = 30.0
RENEW_SECONDS = 10.0

OwnerIsDead = Callable[[str], bool]


def local_process_dead(owner: str) -> bool:
    """True when ``owner`` (``host:pid``, see :func:`bot.wiring.instance_name`) names a
    process on this host that no longer exists. Anything else (another host, a
    name we cannot read, a live or foreign process) counts as alive."""
    host, sep, pid_text = owner.rpartition(":")
    if not sep or host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, owned by another user
        return False
    return False


def try_acquire(
    engine: Engine,
    key: str,
    owner: str,
    now: datetime,
    seconds: float = LEASE_SECONDS,
    owner_is_dead: OwnerIsDead = local_process_dead,
) -> bool:
    """Take or renew the lease ``key`` for ``owner`` until ``now + seconds``.

    Returns True when ``owner`` holds it afterwards: it was free, expired, its
    holder is known dead, or ``owner`` already held it.
    """
    until = now + timedelta(seconds=seconds)
    table = Lease.__table__  # type: ignore[attr-defined]
    with session_scope(engine) as session:
        row = session.execute(
            sa.select(table.c.owner, table.c.expires_at).where(table.c.key == key)
        ).first()
        if row is None:
            insert = pg_insert if engine.dialect.name == "postgresql" else sqlite_insert
            result = session.execute(
                insert(table)
                .values(key=key, owner=owner, expires_at=until, acquired_at=now)
                .on_conflict_do_nothing(index_elements=["key"])
            )
            return bool(getattr(result, "rowcount", 0))
        held_by, expires_at = row
        if held_by != owner and expires_at > now and not owner_is_dead(held_by):
            return False
        values: dict[str, object] = {"owner": owner, "expires_at": until}
        if held_by != owner:
            values["acquired_at"] = now
            log.info("lease %s: taken over from %s", key, held_by)
        # Compare-and-set: only if nobody changed the row since we read it.
        result = session.execute(
            sa.update(table)
            .where(table.c.key == key, table.c.owner == held_by, table.c.expires_at == expires_at)
            .values(**values)
        )
        return bool(getattr(result, "rowcount", 0))


def release(engine: Engine, key: str, owner: str) -> None:
    """Give the lease up (if ``owner`` holds it) so another instance can take it at once."""
    with session_scope(engine) as session:
        session.execute(sa.delete(Lease).where(col(Lease.key) == key, col(Lease.owner) == owner))


def holder(engine: Engine, key: str) -> tuple[str, datetime] | None:
    """``(owner, expires_at)`` of the lease ``key``, or None if nobody ever took it."""
    with session_scope(engine) as session:
        row = session.get(Lease, key)
        return (row.owner, row.expires_at) if row else None


def free_outbox_of_dead(engine: Engine, owner_is_dead: OwnerIsDead = local_process_dead) -> int:
    """Release outbox entries leased by processes that are known dead; how many.

    Without this, entries a killed process had claimed wait for their lease to
    run out (minutes) before anyone sends them.
    """
    with session_scope(engine) as session:
        owners = (
            session.execute(
                sa.select(col(Outbox.lease_owner))
                .distinct()
                .where(
                    col(Outbox.status) == OutboxStatus.PENDING.value,
                    col(Outbox.lease_owner).is_not(None),
                    col(Outbox.lease_until).is_not(None),
                )
            )
            .scalars()
            .all()
        )
        dead = [o for o in owners if o and owner_is_dead(o)]
        if not dead:
            return 0
        result = session.execute(
            sa.update(Outbox)
            .where(
                col(Outbox.lease_owner).in_(dead), col(Outbox.status) == OutboxStatus.PENDING.value
            )
            .values(lease_until=None)
        )
        freed = int(getattr(result, "rowcount", 0) or 0)
    log.info("outbox: released %d entries claimed by dead instance(s) %s", freed, ", ".join(dead))
    return freed
