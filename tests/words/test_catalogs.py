"""The word catalogs: complete in sv, nb, nn and en, and every key the code names exists."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from bot.domain.vocabulary import EscalationReason, Outcome, Resolution, Source
from bot.presenters.catalogs import (
    DOMAINS,
    LANGUAGES,
    extract_keys,
    keys_in_source,
    load,
    messages,
    placeholders,
    po_path,
    staff_word,
)
from bot.presenters.chat import escalation_reason_text
from handlers.slack.labels import say, words

ROOT = Path(__file__).resolve().parents[2]
# Where each domain's keys are named in code.
ACCESS_DOC = ROOT / "bot" / "presenters" / "access_document.py"
USERS = {
    "staff": sorted((ROOT / "handlers" / "slack").glob("*.py"))
    # access_document.py names the subject-access words (the "access" domain below)
    + sorted(p for p in (ROOT / "bot" / "presenters").glob("*.py") if p.name != ACCESS_DOC.name)
    + sorted((ROOT / "handlers" / "sweeps").glob("*.py")),
    "access": [ACCESS_DOC],
    "web": [
        *sorted((ROOT / "handlers" / "web").glob("*.py")),
        ROOT / "bot" / "actions" / "web_intake.py",
        *sorted((ROOT / "templates" / "web").glob("*.j2")),
    ],
}
# Templates name a word as ``w["key"]`` (or ``w['key']``).
TEMPLATE_KEY = re.compile(r"""\bw\[["']([a-z][a-z0-9_]*)["']\]""")


def keys_used(path: Path) -> set[str]:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".j2":
        return set(TEMPLATE_KEY.findall(text))
    return {key for _, key in keys_in_source(text)}


def _read(domain: str, lang: str) -> dict[str, tuple[str, bool]]:
    with po_path(domain, lang).open("rb") as fh:
        catalog = read_po(fh)
    return {str(m.id): (str(m.string or ""), m.fuzzy) for m in catalog if m.id}


@pytest.mark.parametrize("domain", DOMAINS)
def test_every_message_is_translated_in_every_language(domain: str) -> None:
    swedish = _read(domain, "sv")
    assert len(swedish) > 50
    for lang in LANGUAGES:
        table = _read(domain, lang)
        assert set(table) == set(swedish), (lang, set(table) ^ set(swedish))
        for key, (text, fuzzy) in table.items():
            assert text.strip(), f"{domain}/{lang}: {key} is not translated"
            assert not fuzzy, f"{domain}/{lang}: {key} is marked fuzzy"
            assert placeholders(text) == placeholders(swedish[key][0]), (
                f"{domain}/{lang}: {key} has other placeholders than Swedish"
            )


def test_the_call_method_has_seven_steps_in_every_language() -> None:
    for lang in LANGUAGES:
        assert len(words(lang)["method_steps"].split("|")) == 7, lang


@pytest.mark.parametrize("domain", DOMAINS)
def test_every_key_named_in_code_is_in_the_catalog(domain: str) -> None:
    known = set(messages(domain, "sv"))
    used = {(path.name, key) for path in USERS[domain] for key in keys_used(path)}
    assert len(used) > 20
    missing = sorted(f"{name}: {key}" for name, key in used if key not in known)
    assert not missing, missing


def test_the_extractor_finds_keys_the_way_code_names_them() -> None:
    source = (
        b'w = words(lang)\nx = w["review_open"] + say(lang, "claim", ref=r)\n'
        b'y = words("sv")["home_more"]\nz = other["not_a_key"]\n'
        b'table = {"deadline": N_("reason_deadline")}\n'
    )
    found = [(line, key) for line, _, key, _ in extract_keys(io.BytesIO(source), (), (), {})]
    assert sorted(found) == [
        (2, "claim"),
        (2, "review_open"),
        (3, "home_more"),
        (5, "reason_deadline"),
    ]


# Codes staff read as words (escalation reasons, sources, outcomes, resolutions): the
# presenters and the staff text templates look them up as ``<kind>_<code>`` at run time.
VOCABULARY = {
    "reason": EscalationReason,
    "source": Source,
    "outcome": Outcome,
    "resolution": Resolution,
}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_code_staff_read_has_a_word_in_every_language(lang: str) -> None:
    table = _read("staff", lang)
    missing = [
        f"{kind}_{code.value}"
        for kind, codes in VOCABULARY.items()
        for code in codes
        if not table.get(f"{kind}_{code.value}", ("", False))[0].strip()
    ]
    assert not missing, (lang, missing)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_escalation_reasons_come_from_the_catalog(lang: str) -> None:
    for reason in EscalationReason:
        assert escalation_reason_text(lang, reason) == say(lang, f"reason_{reason.value}")
        assert staff_word(lang, "reason", reason.value) == say(lang, f"reason_{reason.value}")
    assert escalation_reason_text(lang, "brand_new") == "brand_new"
    assert staff_word(lang, "source", "pigeon") == "pigeon"


def test_words_come_from_the_catalog_with_swedish_as_fallback() -> None:
    assert say("sv", "title_open", ref="K-1") == "☎️ Ring tillbaka: K-1"
    assert say("en", "claim") == "I'll call"
    assert say("xx", "claim") == say("sv", "claim") == "Jag ringer"


def test_a_compiled_catalog_says_the_same_as_its_source(tmp_path: Path) -> None:
    # The build compiles .po -> .mo with Babel; the .mo must carry every word.
    for domain in DOMAINS:
        for lang in LANGUAGES:
            target = tmp_path / lang / "LC_MESSAGES"
            target.mkdir(parents=True, exist_ok=True)
            (target / f"{domain}.po").write_bytes(po_path(domain, lang).read_bytes())
        subprocess.run(
            [
                str(Path(sys.executable).parent / "pybabel"),
                "-q",
                "compile",
                "-d",
                str(tmp_path),
                "-D",
                domain,
            ],
            check=True,
            env={**os.environ, "PYTHONWARNINGS": "ignore"},
        )
        for lang in LANGUAGES:
            with (tmp_path / lang / "LC_MESSAGES" / f"{domain}.mo").open("rb") as fh:
                compiled = {str(m.id): m.string for m in read_mo(fh) if m.id}
            source = {str(m.id): m.string for m in load(domain, lang) if m.id}
            assert compiled == source, (domain, lang)
