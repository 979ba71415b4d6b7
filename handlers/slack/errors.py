"""The one place that turns the domain's refusals into words for the Slack user.

``NotAllowed``, ``InvalidAction`` and ``CaseNotFound`` become an ephemeral
message (or a DM when there is no channel); anything else is a bug and is
logged. Bolt calls :func:`report_error` through ``@app.error``; listeners also
call it through :func:`after_ack` for errors in the work they do after
``ack()``, because Bolt discards an HTTP listener's acknowledgement when it
raises afterwards, and Slack would then wait three seconds for an answer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from slack_sdk import WebClient

from bot.errors import CaseNotFound, InvalidAction, NotAllowed
from handlers.slack.common import Body, NotOmbudsman, answer, channel_of, lang_of, user_id_of
from handlers.slack.labels import say
from handlers.slack.once import Replayed, first_report

if TYPE_CHECKING:
    from bot.wiring import Runtime

log = logging.getLogger(__name__)

DOMAIN_ERRORS = (NotAllowed, InvalidAction, CaseNotFound)


def error_text(lang: str, error: BaseException) -> str | None:
    """What to tell the user for a domain error; None for anything else."""
    if isinstance(error, NotOmbudsman):
        return say(lang, "not_ombudsman")
    if isinstance(error, NotAllowed):
        return say(lang, "refused")
    if isinstance(error, CaseNotFound):
        return say(lang, "not_found")
    if isinstance(error, InvalidAction):
        return say(lang, "invalid_action", reason=str(error))
    return None


def report_error(rt: Runtime, error: BaseException, body: Body, client: WebClient) -> None:
    text = error_text(lang_of(rt), error)
    if text is None:
        log.error("Slack listener failed: %s", error, exc_info=error)
        return
    user = user_id_of(body)
    if user:
        answer(client, user, channel_of(body), text)


def after_ack(rt: Runtime, body: Body, client: WebClient, work: Callable[[], None]) -> None:
    """Run a listener's work; a domain error is reported to the user, not raised.

    A replayed payload (see :mod:`handlers.slack.once`) ends quietly, and so does
    a replay of one that was refused: the user is told once.
    """
    try:
        work()
    except Replayed:
        return
    except DOMAIN_ERRORS as error:
        if first_report(rt, body):
            report_error(rt, error, body, client)
