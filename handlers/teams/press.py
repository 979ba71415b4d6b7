"""A Teams press, with the same steps as a Slack one (:mod:`handlers.slack.context`).

For each card button or dialog submission:

1. the button's value is parsed (the same parsers as Slack's);
2. the person is authorised once: ``from.aadObjectId`` if the staff or ombudsman
   list holds it, else ``from.id`` if a list holds that; a refusal is audited
   (actor ``teams:<id>``) and told once;
3. one transaction records the activity (``teams-activity:`` + a hash of the
   conversation, activity id and sender in ``processed_event``, as Slack payload
   keys are), so Teams' retries of the same activity act once;
4. the work runs with a :class:`TeamsPress`, the Slack work functions' own
   context: it answers the presser in a personal message (Teams has no
   ephemeral messages) or, in a dialog, in the dialog; a modal it opens becomes
   the dialog returned to Teams; a message it updates is the pressed card
   (:class:`CardUpdates`);
5. after the commit: answers, delivery of the outbox (the card updates in place).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from slack_sdk import WebClient

from bot.actions.cases import get_case
from bot.actions.trail import Actor, authorize, is_ombudsman, teams_actor
from bot.errors import InvalidAction, NotAllowed
from bot.ports import ChatPost, ChatRef
from bot.store.db import session_scope
from handlers.slack.common import NotOmbudsman, audit_refusal
from handlers.slack.context import Button, Press, V, Who
from handlers.slack.once import Replayed, first_time
from handlers.teams.activity import Incoming

if TYPE_CHECKING:
    from bot.wiring import Runtime

log = logging.getLogger(__name__)


def teams_user(rt: Runtime, inc: Incoming) -> str:
    """The id this person is known by in the staff lists (see the module docstring)."""
    chat = rt.cfg.chat
    listed = (*chat.staff_users, *chat.ombudsman_users)
    if inc.aad and inc.aad in listed:
        return inc.aad
    if inc.user in listed:
        return inc.user
    return inc.aad or inc.user


def require(rt: Runtime, inc: Incoming, who: Who, action: str, ref: str | None) -> Actor:
    """The authorised actor for the sender if they may do ``action``; else audited
    :class:`NotAllowed`."""
    actor = teams_actor(teams_user(rt, inc))
    try:
        if who is Who.OMBUDSMAN and not is_ombudsman(rt.cfg, actor):
            raise NotOmbudsman("only the ombudsman may do this")
        return authorize(rt.cfg, actor)
    except NotAllowed:
        audit_refusal(rt, actor, action, ref)
        raise


def activity_key(inc: Incoming) -> str | None:
    """The replay key of an activity; None when it has no id (then it is not deduplicated)."""
    if not inc.id:
        return None
    joined = "\x1f".join((inc.conversation, inc.id, inc.user))
    return f"teams-activity:{hashlib.sha256(joined.encode('utf-8')).hexdigest()}"


def first_sight(rt: Runtime, inc: Incoming) -> bool:
    """Record the activity on its own (a refused one, so a retry is refused quietly)."""
    key = activity_key(inc)
    if key is None:
        return True
    with session_scope(rt.db) as session:
        return first_time(session, key, rt.clock())


def tell(rt: Runtime, user: str, text: str, blocks: list[dict[str, Any]] | None = None) -> None:
    """A personal message to ``user`` (their Teams user id); a failure is only logged."""
    try:
        rt.chat.direct(user, ChatPost(text, blocks or []))
    except Exception:
        log.warning("Teams: could not answer %s", user[:12], exc_info=True)


class CardUpdates:
    """The one thing the Slack work asks of its Slack client after a press: replace the
    message the button was on (``chat_update``: an offer shows the answer, an escalation
    alert who acknowledged it). In Teams that is the card, updated in place through the
    chat port. A failure is only logged: the action itself is recorded."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def chat_update(
        self, *, channel: str, ts: str, text: str, blocks: Any = None, **_: Any
    ) -> None:
        try:
            self.rt.chat.update(ChatRef(channel, ts), ChatPost(text, list(blocks or [])))
        except Exception:
            log.warning("Teams: could not update the card %s", ts[:24], exc_info=True)


def slack_body(inc: Incoming) -> dict[str, Any]:
    """The parts of a Slack payload the Slack work reads: where the button was pressed."""
    body: dict[str, Any] = {"id": inc.id, "channel": {"id": inc.conversation}}
    if inc.reply_to:
        body["container"] = {"channel_id": inc.conversation, "message_ts": inc.reply_to}
    return body


@dataclass
class TeamsPress(Press[V]):
    """A :class:`~handlers.slack.context.Press` whose answers and modals go to Teams."""

    incoming: Incoming | None = None
    in_dialog: bool = False  # a dialog submission: answers are shown in the dialog
    answers: list[str] = field(default_factory=list)
    dialog: dict[str, Any] | None = None  # the modal the work opened, as a Slack view

    @property
    def channel(self) -> str | None:
        return self.incoming.conversation if self.incoming else None

    def answer(self, text: str, blocks: list[dict[str, Any]] | None = None) -> None:
        self.answers.append(text)
        if not self.in_dialog:
            self.then(lambda: tell(self.rt, self.user, text, blocks))

    def open_modal(self, view: dict[str, Any]) -> None:
        self.dialog = view


def act(
    rt: Runtime,
    inc: Incoming,
    button: Button[V],
    raw: str,
    *,
    in_dialog: bool = False,
    once: bool = True,
) -> TeamsPress[V]:
    """Parse, authorise once, act once in one transaction, then do what comes after.

    ``once=False`` for a press that only opens a dialog: Teams asks again for the
    dialog when it retries, and must get it again.
    """

    def require_for(ref: str | None) -> Actor:
        return require(rt, inc, button.who, button.action, ref)

    try:
        value = button.value(raw)
    except InvalidAction:
        require_for(None)  # a stranger is refused (and audited) first
        raise
    actor = require_for(value.ref)
    # The Slack work updates the pressed message through its client: see CardUpdates.
    client = cast(WebClient, CardUpdates(rt))
    body = slack_body(inc)

    def pressed(session: Any, case: Any) -> TeamsPress[V]:
        return TeamsPress(
            rt,
            body,
            client,
            value,
            inc.user,
            actor,
            session,
            case,
            incoming=inc,
            in_dialog=in_dialog,
        )

    if button.own_transactions:
        press = pressed(None, None)
        button.work(press)
    else:
        key = activity_key(inc) if once else None
        with session_scope(rt.db) as session:
            if key is not None and not first_time(session, key, rt.clock()):
                log.info("Teams activity %s handled before; ignored", key[15:31])
                raise Replayed(key)
            case = get_case(session, value.ref) if value.ref is not None else None
            press = pressed(session, case)
            button.work(press)
    for work in press.afterwards:
        work()
    return press
