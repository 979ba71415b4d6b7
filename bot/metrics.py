"""Prometheus metrics for ``complaint-bot run --metrics-port N``.

Counters are bumped at the edges where things happen (the pipeline's outcome
for a message, the outbox when a delivery succeeded); gauges are read when
Prometheus scrapes. Counters count what this process did since it started;
Prometheus sums them over instances and restarts.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import Counter, Gauge, start_http_server

CASES_OPENED = Counter("complaint_bot_cases_opened_total", "Cases opened from incoming email")
QUARANTINED = Counter(
    "complaint_bot_quarantined_total",
    "Incoming messages the bot could not handle, kept with the reason",
)
ACKS_SENT = Counter(
    "complaint_bot_acks_sent_total", "Acknowledgements accepted by the outgoing mail server"
)
EMAILS_SENT = Counter(
    "complaint_bot_emails_sent_total",
    "Emails to citizens accepted by the outgoing mail server",
    ["purpose"],
)
PROMPTS_POSTED = Counter(
    "complaint_bot_prompts_posted_total", "Call-back prompts posted to the triage channel"
)
REMINDERS = Counter("complaint_bot_reminders_total", "Reminders posted to staff")
ESCALATIONS = Counter(
    "complaint_bot_escalations_total", "Escalation alerts posted to the ombudsman"
)
DELIVERY_FAILURES = Counter(
    "complaint_bot_delivery_failures_total", "Outbox deliveries that failed", ["kind", "permanent"]
)
OUTBOX_BACKLOG = Gauge("complaint_bot_outbox_backlog", "Outbox entries waiting to be delivered")
MAILBOX_CONNECTED = Gauge(
    "complaint_bot_mailbox_connected",
    "1 while this instance has a working connection to the mailbox",
)
MAILBOX_LEASE = Gauge(
    "complaint_bot_mailbox_lease_held",
    "1 while this instance holds the mailbox lease (watches the mailbox)",
)


def count_chat_delivery(op: str, new_post: bool) -> None:
    """A chat outbox entry ``op`` was delivered (``new_post``: posted, not an update)."""
    if op == "prompt" and new_post:
        PROMPTS_POSTED.inc()
    elif op == "reminder":
        REMINDERS.inc()
    elif op == "escalation":
        ESCALATIONS.inc()


def count_email_delivery(purpose: str | None) -> None:
    EMAILS_SENT.labels(purpose=purpose or "other").inc()
    if purpose == "ack":
        ACKS_SENT.inc()


def serve_metrics(
    port: int, host: str, backlog: Callable[[], float], connected: Callable[[], float]
) -> None:
    """Expose ``/metrics`` on ``host:port`` (a daemon thread); gauges read on each scrape."""
    OUTBOX_BACKLOG.set_function(backlog)
    MAILBOX_CONNECTED.set_function(connected)
    start_http_server(port, addr=host)
