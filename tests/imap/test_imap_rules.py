"""The IMAP adapter's pure decisions, without a server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest

from bot.adapters.imap import (
    Checkpoint,
    is_historical,
    next_backoff,
    parse_position,
    short_address,
    truncated_message,
)
from bot.adapters.imap_rules import fetch_batches

CONNECTED = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)
CHECKPOINT = Checkpoint(
    uidvalidity=7, last_uid=0, historical_below_uid=11, first_connected_at=CONNECTED
)


def test_short_address_keeps_first_letter_and_domain() -> None:
    assert short_address("anna.andersson@example.org") == "a***@example.org"
    assert short_address("synpunkter") == "s***"


def test_mail_below_the_first_uidnext_that_arrived_before_the_first_connection_is_historical() -> (
    None
):
    before = CONNECTED - timedelta(days=3)
    assert is_historical(10, before, CHECKPOINT)
    assert not is_historical(11, before, CHECKPOINT)  # moved in later with an old date
    # after a UIDVALIDITY change: old UIDs, but arrived after the bot started
    assert not is_historical(10, CONNECTED + timedelta(days=1), CHECKPOINT)


def test_mail_older_than_since_is_historical_whatever_its_uid() -> None:
    since = datetime(2025, 3, 1, tzinfo=UTC)
    assert is_historical(500, since - timedelta(seconds=1), CHECKPOINT, since)
    assert not is_historical(500, since, CHECKPOINT, since)


@pytest.mark.parametrize("rnd", [0.0, 0.5, 0.999])
def test_backoff_doubles_from_one_second_to_a_minute_with_jitter(rnd: float) -> None:
    delays = [next_backoff(n, rnd) for n in range(1, 10)]
    assert 0.8 <= delays[0] <= 1.2
    assert all(later >= earlier for earlier, later in pairwise(delays))
    assert 48 <= delays[-1] <= 60


def test_truncated_message_keeps_the_header_and_says_how_big_it_was() -> None:
    header = b"Subject: Stort\r\nMessage-ID: <a@b>\r\n\r\n"
    raw = truncated_message(header, b"y" * 5000, size=5100, limit=1024)
    assert raw.startswith(b"X-Complaint-Bot-Truncated: original size 5100 bytes\r\n")
    assert header in raw
    assert len(raw) == 1024


def test_position_round_trips_and_rejects_foreign_ones() -> None:
    assert parse_position("1795436688:42") == (1795436688, 42)
    with pytest.raises(ValueError):
        parse_position("1712345678.M1P2.host")


# -- fetch batches: bounded by bytes, not by count ------------------------------------------


def test_small_messages_are_fetched_together_up_to_the_byte_budget() -> None:
    sizes = [(uid, 1_000) for uid in range(1, 11)]
    assert list(fetch_batches(sizes, max_count=50, max_bytes=3_500)) == [
        [1, 2, 3],
        [4, 5, 6],
        [7, 8, 9],
        [10],
    ]


def test_batch_size_still_caps_the_count() -> None:
    sizes = [(uid, 10) for uid in range(1, 8)]
    assert list(fetch_batches(sizes, max_count=3, max_bytes=10_000)) == [[1, 2, 3], [4, 5, 6], [7]]


def test_a_large_message_is_fetched_alone_and_order_is_kept() -> None:
    mb = 1024 * 1024
    sizes = [(1, 2_000), (2, 24 * mb), (3, 2_000), (4, 5 * mb), (5, 24 * mb), (6, 1_000)]
    batches = list(fetch_batches(sizes, max_count=50, max_bytes=4 * mb))
    assert batches == [[1], [2], [3], [4], [5], [6]]
    assert [uid for batch in batches for uid in batch] == [1, 2, 3, 4, 5, 6]


def test_no_batch_holds_more_than_the_budget_unless_one_message_does() -> None:
    sizes = [(uid, (uid * 7919) % 3_000_000) for uid in range(1, 400)]
    size_of = dict(sizes)
    batches = list(fetch_batches(sizes, max_count=50, max_bytes=4_000_000))
    assert [uid for batch in batches for uid in batch] == [uid for uid, _ in sizes]
    for batch in batches:
        assert len(batch) <= 50
        assert len(batch) == 1 or sum(size_of[u] for u in batch) <= 4_000_000
