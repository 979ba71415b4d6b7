"""The citizen's front door: the complaint form (``GET /``, ``POST /``) and the status
page (``GET /status/<token>``), as a Starlette app.

A POST goes through, in order: body size → form parse (one file, few fields) →
form token (signed by us: the CSRF check) and Origin → a form sent before
(shows the same reference, opens nothing) → honeypot → fill time → rate
limits → the fields → one transaction that opens the case. Every refusal
answers with a page in the citizen's language, and the form comes back with
what they typed wherever it was read.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from sqlalchemy.exc import IntegrityError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from bot.actions.status_links import case_for_status_token, progress_of
from bot.actions.web_intake import WebResult, erased_before, open_web_case, sent_before
from bot.domain.web_form import (
    Attachment,
    FormToken,
    RateLimiter,
    WebComplaint,
    choose_language,
    client_address,
    filled_too_fast,
    new_form_token,
    read_fields,
    read_form_token,
    status_token_for,
)
from bot.mail.extract import find_phone_numbers, format_phone_national, phone_region
from bot.store.db import session_scope
from handlers.web.headers import ErrorPage, SecurityHeaders
from handlers.web.pages import render, stylesheet, words

if TYPE_CHECKING:
    from bot.wiring import Runtime

log = logging.getLogger(__name__)

FORM_FIELDS = ("message", "name", "phone", "email", "best_time", "on_behalf_of")
FORM_OVERHEAD = 64_000  # room for the text fields and multipart framing around the file


@dataclass
class Front:
    """What the routes share: the runtime, the signing key and the rate limiter."""

    rt: Runtime
    key: bytes
    limiter: RateLimiter

    def now(self) -> float:
        return self.rt.clock().timestamp()

    @property
    def body_limit(self) -> int:
        web = self.rt.cfg.web
        return web.max_attachment_bytes + web.max_message_chars * 4 + FORM_OVERHEAD


def page(html: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})


def language_of(front: Front, request: Request, form_lang: str | None = None) -> str:
    return choose_language(
        form_lang or request.query_params.get("lang"),
        request.headers.get("accept-language"),
        front.rt.cfg.policy.default_language,
    )


def show_form(
    front: Front,
    lang: str,
    *,
    form: WebComplaint | None = None,
    notice: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    """The form, with what was typed and its problems when it comes back."""
    cfg = front.rt.cfg
    form = form or WebComplaint(language=lang)
    html = render(
        "form",
        lang,
        form=form,
        problems={name: f"err_{p.value}" for name, p in form.problems.items()},
        notice=notice,
        token=new_form_token(front.key, front.now()),
        privacy_url=cfg.web.privacy_url or cfg.organisation.privacy_url,
        organisation=cfg.organisation.name,
        org_phone=cfg.organisation.phone,
        max_chars=cfg.web.max_message_chars,
        attachments=cfg.web.max_attachment_bytes > 0,
        max_mb=round(cfg.web.max_attachment_bytes / 1_000_000, 1),
    )
    return page(html, status)


def show_message(front: Front, lang: str, key: str, status: int) -> HTMLResponse:
    cfg = front.rt.cfg
    html = render(
        "message",
        lang,
        heading=key,
        organisation=cfg.organisation.name,
        org_phone=cfg.organisation.phone,
    )
    return page(html, status)


def show_answer(front: Front, result: WebResult, token: FormToken, form: WebComplaint | None):
    """The reference and what happens next (also for a form sent again)."""
    cfg = front.rt.cfg
    case = result.case
    lang = case.language
    anonymous = form.anonymous if form else (case.first_contact_due_at is None and not case.phone)
    html = render(
        "answer",
        lang,
        ref=case.ref,
        anonymous=anonymous,
        phone=format_phone_national(case.phone) if case.phone else "",
        best_time=form.best_time if form else "",
        email=bool(form and form.email),
        status_path=f"/status/{status_token_for(front.key, token)}",
        organisation=cfg.organisation.name,
        org_phone=cfg.organisation.phone,
        days=_call_within_days(front),
    )
    return page(html)


def _call_within_days(front: Front) -> int:
    from bot.actions.citizen_mail import call_within_days

    return call_within_days(front.rt.cfg)


def origin_ok(front: Front, request: Request) -> bool:
    """A browser's POST must come from our own page (ours, or the public URL's origin)."""
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return origin is None  # "null" is an opaque origin: a sandboxed or local page
    own = {f"{request.url.scheme}://{request.headers.get('host', '')}"}
    public = urlsplit(front.rt.cfg.web.public_url)
    own.add(f"{public.scheme}://{public.netloc}")
    return origin in own


async def read_body(request: Request, limit: int) -> bytes | None:
    """The request body, or None when it is over ``limit``. An oversized body is read to
    its end and thrown away (up to four times the limit), so that the sender gets the
    answer instead of a reset connection; beyond that the connection is dropped."""
    declared = request.headers.get("content-length")
    drain_cap = limit * 4
    if declared and declared.isdigit() and int(declared) > drain_cap:
        return None
    chunks, total = [], 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > drain_cap:
            return None
        if total <= limit:
            chunks.append(chunk)
    return b"".join(chunks) if total <= limit else None


def replayed_request(request: Request, body: bytes) -> Request:
    """A request whose body is ``body`` (already read), for Starlette's form parser."""
    sent = False

    async def receive() -> Mapping[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return Request(request.scope, receive)  # type: ignore[arg-type]


async def form_page(request: Request) -> Response:
    front: Front = request.app.state.front
    return show_form(front, language_of(front, request))


async def submit(request: Request) -> Response:
    front: Front = request.app.state.front
    cfg = front.rt.cfg.web
    lang = language_of(front, request)
    ctype = request.headers.get("content-type", "")
    if not ctype.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
        return show_message(front, lang, "msg_bad_request", 415)
    body = await read_body(request, front.body_limit)
    if body is None:
        return show_message(front, lang, "msg_too_large", 413)
    try:
        parsed = await replayed_request(request, body).form(
            max_files=1, max_fields=20, max_part_size=cfg.max_message_chars * 4 + 1024
        )
    except Exception:  # a broken or over-stuffed body: nothing of it is used
        return show_message(front, lang, "msg_bad_request", 400)
    fields = {k: v for k, v in parsed.items() if isinstance(v, str)}
    lang = language_of(front, request, fields.get("lang"))
    request.state.lang = lang  # for the error page, should anything below fail
    upload = parsed.get("attachment")
    attachment = None
    if isinstance(upload, UploadFile) and upload.filename:
        data = await upload.read(cfg.max_attachment_bytes + 1)
        attachment = Attachment(upload.filename or "", upload.content_type or "", data)
    form = read_fields(
        fields,
        language=lang,
        max_message_chars=cfg.max_message_chars,
        to_e164=lambda text, lg: _to_e164(front, text, lg),
        attachment=attachment,
        attachment_types=cfg.attachment_types,
        max_attachment_bytes=cfg.max_attachment_bytes,
    )
    now = front.now()
    token = read_form_token(front.key, fields.get("form_token", ""), now)
    if token is None or not origin_ok(front, request):
        form.problems.clear()
        return show_form(front, lang, form=form, notice="notice_token", status=403)
    before = await run_in_threadpool(_sent_before, front, token)
    if before is ERASED:
        return show_message(front, lang, "msg_already_sent", 409)
    if before is not None:
        return show_answer(front, WebResult(before, created=False), token, None)
    if fields.get("website"):  # the honeypot: people never see it
        form.problems.clear()
        return show_form(front, lang, form=form, notice="notice_robot", status=400)
    if filled_too_fast(token, now, cfg.min_fill_seconds):
        form.problems.clear()
        return show_form(front, lang, form=form, notice="notice_too_fast", status=400)
    if not form.ok:
        return show_form(front, lang, form=form, notice="notice_problems", status=400)
    who = client_address(
        request.client.host if request.client else None,
        request.headers.get("x-forwarded-for"),
        cfg.trusted_proxies,
    )
    if not front.limiter.allow(who, now):
        return show_form(front, lang, form=form, notice="notice_rate", status=429)
    result = await run_in_threadpool(_open, front, form, token)
    if result.created:
        log.info("web form -> case %s", result.case.ref)
        # The acknowledgement and the staff prompt go out through the delivery loop.
        front.rt.delivery.wake()
    return show_answer(front, result, token, form if result.created else None)


def _to_e164(front: Front, text: str, lang: str) -> str | None:
    found = find_phone_numbers(text, region=phone_region(lang, front.rt.cfg.policy.country))
    return found[0] if len(found) == 1 else None


ERASED = object()  # the form opened a case whose person was erased since


def _sent_before(front: Front, token: FormToken) -> Any:
    """The case this form opened before, :data:`ERASED`, or None (a new form)."""
    with session_scope(front.rt.db) as session:
        case = sent_before(session, token.key)
        if case is not None:
            session.expunge(case)
            return case
        return ERASED if erased_before(session, token.key) else None


def _open(front: Front, form: WebComplaint, token: FormToken) -> WebResult:
    rt = front.rt
    status_token = status_token_for(front.key, token)
    for attempt in range(2):
        try:
            with session_scope(rt.db) as session:
                result = open_web_case(
                    session, rt.cfg, rt.renderer, form, token.key, status_token, rt.clock()
                )
                session.flush()
                session.expunge(result.case)
                return result
        except IntegrityError:
            # The same form sent twice at the same moment: the other request opened it.
            if attempt:
                raise
    raise AssertionError("unreachable")


async def status_page(request: Request) -> Response:
    front: Front = request.app.state.front
    token = request.path_params["token"]
    found = await run_in_threadpool(_progress, front, token)
    if found is None:
        return show_message(front, language_of(front, request), "msg_status_unknown", 404)
    lang = request.query_params.get("lang") or found.language
    lang = language_of(front, request, lang)
    cfg = front.rt.cfg
    html = render(
        "status",
        lang,
        path=f"/status/{token}",
        progress=found,
        organisation=cfg.organisation.name,
        org_phone=cfg.organisation.phone,
    )
    resp = page(html)
    resp.headers["X-Robots-Tag"] = "noindex"
    return resp


def _progress(front: Front, token: str) -> Any:
    rt = front.rt
    with session_scope(rt.db) as session:
        case = case_for_status_token(session, token, rt.clock())
        return progress_of(session, rt.cfg, case) if case is not None else None


async def css(request: Request) -> Response:
    return Response(
        stylesheet(),
        media_type="text/css",
        headers={"Cache-Control": "public, max-age=3600"},
    )


async def not_found(request: Request, exc: Exception) -> Response:
    front: Front = request.app.state.front
    return show_message(front, language_of(front, request), "msg_not_found", 404)


def make_app(rt: Runtime, key: bytes) -> Starlette:
    """The web front for ``rt``, with its form tokens signed by ``key``."""
    web = rt.cfg.web
    app = Starlette(
        routes=[
            Route("/", form_page, methods=["GET"]),
            Route("/", submit, methods=["POST"]),
            Route("/status/{token}", status_page, methods=["GET"]),
            Route("/static/web.css", css, methods=["GET"]),
        ],
        exception_handlers={404: not_found},
    )
    front = Front(
        rt=rt,
        key=key,
        limiter=RateLimiter(web.rate_per_address, web.rate_overall, web.rate_window_seconds),
    )
    app.state.front = front

    def error_page(scope: Any) -> Response:
        request = Request(scope)
        lang = getattr(request.state, "lang", None)
        return show_message(front, language_of(front, request, lang), "msg_error", 500)

    # The last added is the outermost: the error page gets the security headers too.
    app.add_middleware(ErrorPage, page=error_page)
    app.add_middleware(SecurityHeaders, frame_ancestors=web.frame_ancestors)
    return app


__all__ = ["make_app", "words"]
