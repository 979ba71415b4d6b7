"""The subject-access export as a document a person can read (Markdown, their language).

Pure: it reads the plain data :func:`bot.actions.subject_access.subject_access`
returns and gives words for every status, outcome and action instead of codes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.domain.actors import SYSTEM_ID
from bot.presenters.privacy_words import access_words, word_for


def _when(value: str | None) -> str:
    """``2026-11-24T09:00:00+01:00`` -> ``2026-11-24 09:00`` (already in local time)."""
    if not value:
        return ""
    return value[:16].replace("T", " ")


def _actor_word(w: Mapping[str, str], actor: str) -> str:
    if actor == SYSTEM_ID:
        return w["actor_system"]
    return w["actor_staff"]


def _quoted(text: str | None) -> list[str]:
    return ["    " + line for line in (text or "").splitlines()] + [""]


def subject_access_markdown(data: dict[str, Any], lang: str | None = None) -> str:
    """The same export as a document a person can read (Markdown, in their language),
    with words for every status, outcome and action instead of codes."""
    w = access_words(lang or data.get("language") or "sv")
    dash = w["dash"]
    req = data["request"]
    who = req["email"] or req["phone"]
    out = [
        f"# {w['title']}: {who}",
        "",
        w["made"].format(org=data["organisation"], at=_when(data["generated_at"])),
        "",
        w["intro"],
        "",
        f"## {w['contact']}",
        "",
    ]
    for c in data["complainant_records"]:
        out += [
            f"- {w['name']}: {c['name'] or dash}",
            f"- {w['email']}: {c['email'] or dash}",
            f"- {w['phone']}: {c['phone'] or dash}",
        ]
        if c["representative_of"]:
            out.append(f"- {w['represents']}: {c['representative_of']}")
        out.append("")
    if not data["complainant_records"]:
        out += [w["no_contact"], ""]

    def message(m: dict[str, Any], heading: str) -> list[str]:
        if m.get("from_another_person"):
            return [f"#### {_when(m['at'])}", "", w["other_person"], ""]
        lines = [
            f"#### {_when(m['at'])} – {heading} ({word_for(w, 'source', m['channel'])})",
            "",
            f"{w['subject']}: {m['subject'] or dash}",
            "",
            *_quoted(m["text"]),
        ]
        if m.get("attachments"):
            lines += [
                f"{w['attachments']}: "
                + ", ".join(a.get("filename") or w["unnamed"] for a in m["attachments"]),
                "",
            ]
        return lines

    for case in data["cases"]:
        status = word_for(w, "status", case["status"])
        if case["closed_at"]:
            status += (
                f", {w['closed'].lower()} {_when(case['closed_at'])} "
                f"({word_for(w, 'resolution', case['resolution'])})"
            )
        out += [
            f"## {w['case'].format(ref=case['ref'])}",
            "",
            f"- {w['received']}: {_when(case['received_at'])} {w['via']} "
            f"{word_for(w, 'source', case['source'])}",
            f"- {w['subject']}: {case['subject'] or dash}",
            f"- {w['status']}: {status}",
            f"- {w['summary']}: {case['summary'] or dash}",
            "",
            f"### {w['messages']}",
            "",
        ]
        for m in case["messages"]:
            out += message(m, w["from_you"] if m["direction"] == "inbound" else w["to_you"])
        out += [f"### {w['attempts']}", ""]
        out += [
            f"- {_when(a['at'])}: {word_for(w, 'outcome', a['outcome'])} ({w['by_staff']})."
            + (f" {a['note']}" if a["note"] else "")
            + (f" {w['remedy']}: {a['remedy']}." if a["remedy"] else "")
            + (f" {w['next_step']}: {a['next_step']}." if a["next_step"] else "")
            for a in case["contact_attempts"]
        ] or [f"- {w['none']}"]
        out += ["", f"### {w['escalations']}", ""]
        out += [
            f"- {_when(e['at'])}: {word_for(w, 'reason', e['reason'])}."
            + (f" {w['note']}: {e['note']}" if e["note"] else "")
            for e in case["escalations"]
        ] or [f"- {w['none']}"]
        out += ["", f"### {w['plans']}", ""]
        out += [
            f"- {w['due']} {_when(p['due_at'])[:10]}: {p['steps'] or dash}"
            + (f" ({w['done']} {_when(p['done_at'])[:10]})" if p["done_at"] else "")
            + (f" {w['follow_up']}: {p['follow_up_note']}" if p["follow_up_note"] else "")
            for p in case["action_plans"]
        ] or [f"- {w['none']}"]
        out += ["", f"### {w['log']}", ""]
        for a in case["audit"]:
            line = f"- {_when(a['at'])}: {word_for(w, 'action', a['action'])}"
            facts = [
                word_for(w, kind, a["detail"][kind])
                for kind in ("outcome", "resolution", "reason")
                if isinstance(a["detail"].get(kind), str) and f"{kind}_{a['detail'][kind]}" in w
            ]
            if facts:
                line += " (" + ", ".join(facts) + ")"
            out.append(f"{line} – {_actor_word(w, a['actor'])}")
        out.append("")
    for key, heading in (
        ("messages_on_other_cases", "elsewhere"),
        ("unattached_messages", "unattached"),
    ):
        if data.get(key):
            out += [f"## {w[heading]}", ""]
            for m in data[key]:
                out += message(m, w["from_you"])
    if data.get("quarantined_mail"):
        out += [f"## {w['quarantine']}", ""]
        for q in data["quarantined_mail"]:
            out += [
                f"#### {w['quarantine_line'].format(at=_when(q['at']))}",
                "",
                f"{w['subject']}: {q['subject'] or dash}",
                "",
                *_quoted(q["text"]),
            ]
    if data.get("outgoing_email"):
        out += [f"## {w['outgoing']}", ""]
        for o in data["outgoing_email"]:
            out += [
                f"#### {_when(o['sent_at'] or o['at'])} – {word_for(w, 'mail', o['status'])}",
                "",
                f"{w['to']}: {', '.join(o['to'])}",
                f"{w['subject']}: {o['subject'] or dash}",
                "",
                *_quoted(o["text"]),
            ]
    return "\n".join(out).rstrip() + "\n"
