"""One delivery loop: a Slack listener queues and wakes the outbox's delivery loop; it
never delivers itself. The post appears once the loop has run."""

from __future__ import annotations

from sqlmodel import select

from bot.runners.delivery import flush
from bot.store.db import session_scope
from bot.store.models import Outbox, OutboxStatus
from handlers.slack.enums import ActionId
from tests.slack.conftest import STAFF, TRIAGE, SlackWorld, block_text
from tests.support.delivery import settle

COMPLAINT = "Hemtjänsten kom inte i går. Ring mig på 070-123 45 67."


def pending(world: SlackWorld) -> int:
    with session_scope(world.engine) as s:
        rows = s.exec(select(Outbox).where(Outbox.status == OutboxStatus.PENDING.value)).all()
        return len(rows)


def test_a_listener_only_wakes_the_loop_and_the_loop_posts(world: SlackWorld) -> None:
    world.rt.delivery.stop()  # as if the runner's loop were busy elsewhere: nobody delivers

    world.post_message(COMPLAINT)

    assert world.case_count() == 1
    assert world.fake.messages(TRIAGE) == []  # the listener did not post the prompt itself
    assert pending(world) == 2  # the prompt and the thread reply wait in the outbox

    world.rt.delivery.start()  # the wake-up is kept: the first round delivers it
    settle(world.rt.delivery)

    assert pending(world) == 0
    assert world.case()["ref"] in block_text(world.prompt()["blocks"])


def test_a_press_updates_the_prompt_through_the_loop(world: SlackWorld) -> None:
    world.post_message(COMPLAINT)
    ref = world.case()["ref"]
    updates = world.fake.count("chat.update")
    world.rt.delivery.stop()

    world.press(ActionId.CLAIM, ref, message_ts=world.prompt()["ts"])

    assert world.case()["assignee"] == f"slack:{STAFF}"
    assert world.fake.count("chat.update") == updates  # not yet: the loop is stopped
    world.rt.delivery.start()
    settle(world.rt.delivery)
    assert world.fake.count("chat.update") == updates + 1
    assert f"<@{STAFF}>" in block_text(world.prompt()["blocks"])


def test_a_one_shot_flush_delivers_what_is_queued(world: SlackWorld) -> None:
    world.rt.delivery.stop()
    world.post_message(COMPLAINT)

    report = flush(world.rt)  # what `tick`, `ingest --once` and `case ...` call at the end

    assert (report.sent, report.failed) == (2, 0)
    assert pending(world) == 0
    assert len(world.fake.messages(TRIAGE)) == 1
