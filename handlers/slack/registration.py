"""The slash command for complaints received by phone, at the counter or by letter:
the register modal, its validation before ``ack`` and the case it opens."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from sqlmodel import Session

from bot.actions.cases import complainant_of, escalate
from bot.actions.chat_intake import inbound_message, message_exists, phones_in, subject_of
from bot.actions.citizen_mail import may_acknowledge_by_hand, queue_citizen_email
from bot.actions.opening import NewComplaint, open_case
from bot.actions.trail import SYSTEM_ACTOR, audit, enqueue
from bot.mail.extract import (
    detect_language,
    find_phone_numbers,
    is_serious,
    summarise,
)
from bot.store.models import (
    Case,
    EscalationReason,
    OutboxKind,
)
from handlers.slack.common import (
    Body,
    answer,
    deliver,
    lang_of,
    require_staff,
    user_id_of,
)
from handlers.slack.enums import BlockId, CallbackId
from handlers.slack.errors import after_ack
from handlers.slack.forms import RegisterForm, read_register_form
from handlers.slack.labels import say
from handlers.slack.modals import read_metadata, register_modal
from handlers.slack.once import acting_once, mark_handled

if TYPE_CHECKING:
    from bot.wiring import Runtime


def register_complaint(
    session: Session, rt: Runtime, form: RegisterForm, phone: str | None, actor: str, view_id: str
) -> Case | None:
    """A complaint staff took by phone, at the counter or by letter; acknowledged by email
    when an address was given and :func:`~bot.domain.acknowledgement.can_acknowledge` agrees, as
    for email intake. None if this modal was already submitted."""
    cfg, now = rt.cfg, rt.clock()
    external_id = f"view:{view_id}"
    if message_exists(session, external_id):
        return None
    language = detect_language(form.text, default=cfg.policy.default_language)
    if phone is None:
        found = phones_in(cfg, form.text, language)
        phone = found[0] if found else None
    serious = is_serious(form.text, cfg.policy.serious_keywords_for(language))
    case = open_case(
        session,
        cfg,
        NewComplaint(
            source=form.source.value,
            received_at=now,
            name=form.name or None,
            email=form.email or None,
            phone=phone,
            language=language,
            subject=subject_of(form.text),
            summary=summarise(form.text),
            serious=serious,
        ),
        now,
        actor=actor,
    )
    session.add(
        inbound_message(
            case,
            channel=form.source.value,
            external_id=external_id,
            text=form.text,
            sender=form.email or None,
            sender_name=form.name or None,
            at=now,
        )
    )
    enqueue(
        session,
        kind=OutboxKind.CHAT,
        dedupe_key=f"prompt:{case.id}",
        payload={"op": "prompt", "case_id": case.id},
        case=case,
        now=now,
    )
    complainant = complainant_of(session, case)
    ok, why = may_acknowledge_by_hand(session, cfg, complainant, now)
    if ok:
        queue_citizen_email(
            session,
            cfg,
            rt.renderer,
            case,
            complainant,
            now,
            template="ack",
            dedupe_key=f"ack:{case.id}",
        )
    elif complainant.email:
        audit(session, case, SYSTEM_ACTOR, "ack_skipped", now, reason=why)
    if serious:
        escalate(
            session,
            cfg,
            case,
            SYSTEM_ACTOR,
            now,
            reason=EscalationReason.SERIOUS,
            note="serious keyword in the complaint",
        )
    return case


def open_register_modal(rt: Runtime, body: Body, client: WebClient) -> None:
    require_staff(rt, user_id_of(body), "register")
    mark_handled(rt, body)
    client.views_open(
        trigger_id=body["trigger_id"],
        view=register_modal(lang_of(rt), str(body.get("channel_id") or "")),
    )


def check_register(
    rt: Runtime, view: Mapping[str, Any]
) -> tuple[RegisterForm | None, str | None, dict[str, str]]:
    """Read and validate the register modal (fast: it runs before ``ack``)."""
    lang = lang_of(rt)
    form = read_register_form(view["state"]["values"], lang)
    if isinstance(form, dict):
        return None, None, form
    phone = None
    if form.phone_text:
        found = find_phone_numbers(form.phone_text, region=rt.cfg.policy.country)
        if not found:
            return None, None, {BlockId.PHONE: say(lang, "invalid_phone")}
        phone = found[0]
    return form, phone, {}


def submit_register(
    rt: Runtime,
    body: Body,
    view: Mapping[str, Any],
    form: RegisterForm,
    phone: str | None,
    client: WebClient,
) -> None:
    user = user_id_of(body)
    actor = require_staff(rt, user, "register")
    with acting_once(rt, body) as session:
        case = register_complaint(session, rt, form, phone, actor, str(view.get("id", "")))
    if case is None:
        return
    channel = read_metadata(view).get("channel") or None
    answer(client, user, channel, say(lang_of(rt), "registered", ref=case.ref))
    deliver(rt)


def register(app: App, rt: Runtime) -> None:
    """Attach the slash command and the register modal's submission to ``app``."""

    @app.command(rt.cfg.chat.slash_command)
    def on_command(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        after_ack(rt, body, client, lambda: open_register_modal(rt, body, client))

    @app.view(CallbackId.REGISTER.value)
    def on_register(
        ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient
    ) -> None:
        form, phone, errors = check_register(rt, view)
        if form is None:
            ack(response_action="errors", errors=errors)
            return
        ack()
        after_ack(rt, body, client, lambda: submit_register(rt, body, view, form, phone, client))
