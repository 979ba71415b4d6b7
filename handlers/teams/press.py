"""A Teams press, with the same steps as a Slack one (:mod:`handlers.slack.context`).

For each card button or dialog submission:

1. the button's value is parsed (the same parsers as Slack's);
2. the person is authorised once: ``from.aadObjectId`` if the staff or ombudsman
   list holds it, else ``from.id`` if a list holds that; a refusal is audited
   (actor ``teams:<id>``) and told once;
3. one transaction records the activity (``teams-activity:`` + a hash of the
   conversation, activity id and sender in ``processed_event``, as Slack payload
   keys are), so Teams' retries of the same activity act once;
4. the work runs with the Slack work functions' own context, a
   :class:`~handlers.slack.context.Press`, on a :class:`TeamsSurface`: it answers
   the presser in a personal message (Teams has no ephemeral messages) or, in a
   dialog, in the dialog; a modal it opens becomes the dialog returned to Teams; a
   message it updates is the pressed card;
5. after the commit: answers, delivery of the outbox (the card updates in place).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from bot.actions.cases import get_case
from bot.actions.trail import Actor, authorize, is_ombudsman, teams_actor
from bot.errors import InvalidAction, NotAllowed
from bot.ports import ChatPost, ChatRef
from bot.store.db import session_scope
from handlers.slack.common import NotOmbudsman, audit_refusal
from handlers.slack.context import Button, Press, V, Who
from handlers.slack.once import Replayed, first_time
from handlers.surface import Blocks
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


class TeamsSurface:
    """The :class:`~handlers.surface.Surface` of a Teams press: answers go to the presser
    in a personal message (Teams has no ephemeral messages) or, in a dialog, into the
    dialog; a form the work opens becomes the dialog returned to Teams; the pressed
    message is the card the button was on, updated in place through the chat port."""

    def __init__(self, rt: Runtime, incoming: Incoming, *, in_dialog: bool = False) -> None:
        self.rt, self.incoming, self.in_dialog = rt, incoming, in_dialog
        self.answers: list[str] = []  # what the presser was told
        self.dialog: Mapping[str, Any] | None = None  # the form opened, as a Slack view

    @property
    def channel(self) -> str | None:
        return self.incoming.conversation or None

    def tell(self, text: str, blocks: Blocks | None = None) -> None:
        self.answers.append(text)
        if not self.in_dialog:  # a dialog shows its answers itself
            tell(self.rt, self.incoming.user, text, blocks)

    def open_form(self, view: Mapping[str, Any]) -> None:
        self.dialog = view

    def update_pressed(self, text: str, blocks: Blocks) -> None:
        card = self.incoming.reply_to
        if not self.incoming.conversation or not card:
            return
        try:
            self.rt.chat.update(ChatRef(self.incoming.conversation, card), ChatPost(text, blocks))
        except Exception:
            log.warning("Teams: could not update the card %s", card[:24], exc_info=True)

    def refresh_home(self) -> None:
        """Teams has no App Home: nothing to refresh."""


def act(
    rt: Runtime,
    inc: Incoming,
    button: Button[V],
    raw: str,
    *,
    in_dialog: bool = False,
    once: bool = True,
) -> TeamsSurface:
    """Parse, authorise once, act once in one transaction, then do what comes after;
    returns the press's surface (what the presser was told, the dialog opened).

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
    surface = TeamsSurface(rt, inc, in_dialog=in_dialog)
    if button.own_transactions:
        press = Press(rt, surface, value, inc.user, actor, None, None)
        button.work(press)
    else:
        key = activity_key(inc) if once else None
        with session_scope(rt.db) as session:
            if key is not None and not first_time(session, key, rt.clock()):
                log.info("Teams activity %s handled before; ignored", key[15:31])
                raise Replayed(key)
            case = get_case(session, value.ref) if value.ref is not None else None
            press = Press(rt, surface, value, inc.user, actor, session, case)
            button.work(press)
    for work in press.afterwards:
        work()
    return surface
