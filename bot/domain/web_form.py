"""The citizen's web form as plain decisions: tokens, fields, client address, rate limits.

Nothing here talks to a database or a socket. The form token is signed with the
``[web] secret_env`` secret and carries the moment the form was shown, so the
server keeps no session: a valid token proves the form came from us (the CSRF
check), its age is the fill time, and its hash is the key that makes a second
POST of the same form open nothing. A status token is derived from the form
token, so a replayed POST shows the same status link without it being stored.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import re
import secrets
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

LANGUAGES = ("sv", "nb", "nn", "en")
TOKEN_VERSION = "v1"  # noqa: S105 - a format version, not a secret
# Single-line fields: what the form's inputs can send. CR/LF or markup there is hostile.
LINE_FIELDS = ("name", "phone", "email", "best_time", "on_behalf_of")
LINE_LIMITS = {"name": 200, "phone": 40, "email": 254, "best_time": 100, "on_behalf_of": 200}
_EMAIL = re.compile(r"[^@\s<>\"(),;:\\]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?\.[A-Za-z]{2,}")
# Markup a complaint has no reason to carry: a script, frame or event handler.
_HOSTILE_MARKUP = re.compile(
    r"<\s*/?\s*(script|iframe|object|embed|svg|style|link|meta|form|base)\b"
    r"|javascript\s*:|\bon[a-z]+\s*=\s*[\"']",
    re.IGNORECASE,
)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
MAGIC = {
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "application/pdf": (b"%PDF-",),
}


# --- tokens ----------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _sign(key: bytes, text: str) -> str:
    return _b64(hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()[:24])


def new_form_token(key: bytes, issued_at: float, nonce: str | None = None) -> str:
    """A signed token for one showing of the form: ``v1.<nonce>.<unix time>.<signature>``."""
    nonce = nonce or _b64(secrets.token_bytes(18))
    issued = str(int(issued_at))
    return f"{TOKEN_VERSION}.{nonce}.{issued}.{_sign(key, f'form|{nonce}|{issued}')}"


@dataclass(frozen=True)
class FormToken:
    raw: str
    nonce: str
    issued_at: float

    @property
    def key(self) -> str:
        """What is stored for a sent form (a hash: the token itself is never kept)."""
        return hashlib.sha256(self.raw.encode("ascii")).hexdigest()


def read_form_token(key: bytes, raw: str, now: float) -> FormToken | None:
    """The token if we signed it and it was not issued in the future; else None."""
    parts = raw.split(".")
    if len(parts) != 4 or parts[0] != TOKEN_VERSION or len(raw) > 200:
        return None
    _, nonce, issued, signature = parts
    if not issued.isdigit() or not re.fullmatch(r"[A-Za-z0-9_-]{16,64}", nonce):
        return None
    if not hmac.compare_digest(signature, _sign(key, f"form|{nonce}|{issued}")):
        return None
    if int(issued) > now + 60:  # a clock a minute apart is tolerated, no more
        return None
    return FormToken(raw=raw, nonce=nonce, issued_at=float(issued))


def filled_too_fast(token: FormToken, now: float, min_fill_seconds: float) -> bool:
    """Whether the form came back sooner than ``min_fill_seconds`` after it was shown. The
    token keeps whole seconds (rounded down): the form may have been shown up to a second
    after its stamp, and that second counts against the sender, never for it."""
    return min_fill_seconds > 0 and now - (token.issued_at + 1) < min_fill_seconds


def status_token_for(key: bytes, token: FormToken) -> str:
    """The status link's token for the case a form opened (the same for a replayed form)."""
    return _b64(hmac.new(key, f"status|{token.nonce}".encode(), hashlib.sha256).digest())


def token_hash(token: str) -> str:
    """How a status token is stored and looked up."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def looks_like_status_token(token: str) -> bool:
    return bool(re.fullmatch(r"[A-Za-z0-9_-]{32,64}", token))


# --- language ----------------------------------------------------------------


def choose_language(query: str | None, accept_language: str | None, default: str) -> str:
    """``?lang=`` when it is one of ours, else the best of Accept-Language, else ``default``.

    Norwegian without a written standard (``no``) is Bokmål."""
    if query in LANGUAGES:
        return query
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate((accept_language or "").split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        primary = tag.strip().lower().split("-")[0]
        primary = {"no": "nb", "nob": "nb", "nno": "nn", "swe": "sv"}.get(primary, primary)
        if primary in LANGUAGES and q > 0:
            ranked.append((-q, i, primary))
    return sorted(ranked)[0][2] if ranked else default


# --- the fields ----------------------------------------------------------------


class Problem(StrEnum):
    """Why a field was refused: each is a message key ``err_<value>`` in the web catalog."""

    MESSAGE_MISSING = "message_missing"
    MESSAGE_TOO_LONG = "message_too_long"
    MARKUP = "markup"
    LINE_BREAK = "line_break"
    TOO_LONG = "too_long"
    EMAIL = "email"
    PHONE = "phone"
    CONTACT_MISSING = "contact_missing"
    ATTACHMENT_TYPE = "attachment_type"
    ATTACHMENT_SIZE = "attachment_size"


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    data: bytes


@dataclass
class WebComplaint:
    """What the citizen sent, as text (kept to show the form again on a problem)."""

    message: str = ""
    name: str = ""
    phone: str = ""
    email: str = ""
    best_time: str = ""
    on_behalf: bool = False
    on_behalf_of: str = ""
    anonymous: bool = False
    language: str = "sv"
    phone_e164: str | None = None
    attachment: Attachment | None = None
    problems: dict[str, Problem] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems


def clean_text(text: str) -> str:
    """Line ends made ``\\n``; NUL and other control characters dropped."""
    return _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def sniff_type(data: bytes) -> str | None:
    """The attachment's type as its first bytes tell it (the name and header are not trusted)."""
    for content_type, starts in MAGIC.items():
        if data.startswith(starts):
            return content_type
    return None


def safe_filename(name: str) -> str:
    base = re.split(r"[\\/]", name or "")[-1]
    base = _CONTROL.sub("", base).replace("\n", "").strip().strip(".")
    return re.sub(r"[<>:\"|?*]", "_", base)[:120] or "attachment"


# The name a kept file may end in, by its sniffed type (the first is the one given).
EXTENSIONS = {
    "image/jpeg": (".jpg", ".jpeg"),
    "image/png": (".png",),
    "application/pdf": (".pdf",),
}


def filename_for(name: str, content_type: str) -> str:
    """``name`` made safe and ending as its content is: a PNG sent as ``invoice.exe`` or
    ``x.pdf`` is kept as ``invoice.png``/``x.png``, so whoever opens it later (a subject
    access export, staff) gets a file that opens as what it is, not as what it claimed."""
    safe = safe_filename(name)
    allowed = EXTENSIONS.get(content_type, ())
    if not allowed or safe.lower().endswith(allowed):
        return safe
    stem = safe.rsplit(".", 1)[0] if "." in safe else safe
    return (stem or "attachment")[:115] + allowed[0]


def read_fields(
    fields: Mapping[str, str],
    *,
    language: str,
    max_message_chars: int,
    to_e164: Callable[[str, str], str | None],
    attachment: Attachment | None = None,
    attachment_types: Iterable[str] = (),
    max_attachment_bytes: int = 0,
) -> WebComplaint:
    """Read and check the form's fields (pure): the result carries the text as typed, the
    normalised phone number, and one problem per refused field."""
    raw_message = fields.get("message", "")
    form = WebComplaint(
        message=clean_text(raw_message).strip(),
        name=fields.get("name", "").strip(),
        phone=fields.get("phone", "").strip(),
        email=fields.get("email", "").strip(),
        best_time=fields.get("best_time", "").strip(),
        on_behalf=fields.get("on_behalf", "") not in ("", "0", "false"),
        on_behalf_of=fields.get("on_behalf_of", "").strip(),
        anonymous=fields.get("anonymous", "") not in ("", "0", "false"),
        language=language,
    )
    problems = form.problems
    if not form.message:
        problems["message"] = Problem.MESSAGE_MISSING
    elif len(form.message) > max_message_chars:
        problems["message"] = Problem.MESSAGE_TOO_LONG
    elif _HOSTILE_MARKUP.search(raw_message):
        problems["message"] = Problem.MARKUP
    for name in LINE_FIELDS:
        value = fields.get(name, "")
        if "\r" in value or "\n" in value or _CONTROL.search(value):
            problems[name] = Problem.LINE_BREAK
        elif "<" in value or ">" in value or _HOSTILE_MARKUP.search(value):
            problems[name] = Problem.MARKUP
        elif len(value) > LINE_LIMITS[name]:
            problems[name] = Problem.TOO_LONG
    if form.anonymous:
        # Anonymous: no contact details are kept, whatever was typed before ticking the box.
        form.name = form.phone = form.email = form.best_time = form.on_behalf_of = ""
        form.on_behalf = False
        for name in LINE_FIELDS:
            problems.pop(name, None)
    else:
        if form.email and "email" not in problems and not _EMAIL.fullmatch(form.email):
            problems["email"] = Problem.EMAIL
        if form.phone and "phone" not in problems:
            form.phone_e164 = to_e164(form.phone, language)
            if form.phone_e164 is None:
                problems["phone"] = Problem.PHONE
        if not form.phone and not form.email:
            problems["phone"] = Problem.CONTACT_MISSING
    if attachment is not None and attachment.data:
        kind = sniff_type(attachment.data)
        if len(attachment.data) > max_attachment_bytes:
            problems["attachment"] = Problem.ATTACHMENT_SIZE
        elif kind is None or kind not in set(attachment_types):
            problems["attachment"] = Problem.ATTACHMENT_TYPE
        else:
            form.attachment = Attachment(
                filename_for(attachment.filename, kind), kind, attachment.data
            )
    return form


# --- who is asking, and how often ----------------------------------------------


def client_address(peer: str | None, forwarded_for: str | None, trusted: Iterable[str]) -> str:
    """The citizen's address: the peer's, unless the peer is a trusted proxy; then the
    right-most address in X-Forwarded-For that is not a trusted proxy itself."""
    networks = [ipaddress.ip_network(n, strict=False) for n in trusted]

    def is_trusted(addr: str) -> bool:
        try:
            ip = ipaddress.ip_address(addr.strip())
        except ValueError:
            return False
        return any(ip in n for n in networks)

    if not peer or not is_trusted(peer) or not forwarded_for:
        return peer or "unknown"
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    for hop in reversed(hops):
        if not is_trusted(hop):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return peer  # a forged or broken header: the proxy is who we know
    return hops[0] if hops else peer


class RateLimiter:
    """At most ``per_key`` events per key and ``overall`` events in all per ``window``
    seconds (a sliding window; times come from the caller)."""

    def __init__(self, per_key: int, overall: int, window: float) -> None:
        self.per_key, self.overall, self.window = per_key, overall, window
        self._all: deque[float] = deque()
        self._by_key: dict[str, deque[float]] = {}

    def _expire(self, q: deque[float], now: float) -> None:
        while q and q[0] <= now - self.window:
            q.popleft()

    def allow(self, key: str, now: float) -> bool:
        """Count one event for ``key`` at ``now`` if both limits allow it."""
        self._expire(self._all, now)
        mine = self._by_key.setdefault(key, deque())
        self._expire(mine, now)
        if len(mine) >= self.per_key or len(self._all) >= self.overall:
            return False
        mine.append(now)
        self._all.append(now)
        if len(self._by_key) > 10_000:  # forget addresses that have gone quiet
            for k in [k for k, q in self._by_key.items() if not q or q[-1] <= now - self.window]:
                del self._by_key[k]
        return True
