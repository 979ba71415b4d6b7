"""``case claim`` on a case someone else has: refused (exit 4, naming who has it) unless
``--take-over``, which is audited and tells the previous assignee."""

from __future__ import annotations

import json
from pathlib import Path

from tests.harness import email
from tests.support.cli import cases_json, write_config
from tests.support.cli import run as cli


def test_claiming_a_claimed_case_names_the_assignee_and_takes_over_only_when_asked(
    tmp_path: Path, db_url: str
) -> None:
    cfg = write_config(tmp_path, db_url)
    cli(cfg, "ingest", "--once")
    (tmp_path / "inbox" / "new" / "x").write_bytes(email())
    cli(cfg, "ingest", "--once")
    [case] = cases_json(cfg)
    ref = case["ref"]
    cli(cfg, "case", "claim", ref, "--by", "U0STAFF1")

    refused = cli(cfg, "case", "claim", ref, "--by", "anna", check=False)

    assert refused.returncode == 4
    assert "already claimed by cli:U0STAFF1" in refused.stderr
    assert "--take-over" in refused.stderr
    shown = json.loads(cli(cfg, "case", "show", ref, "--format", "json").stdout)
    assert shown["assignee"] == "cli:U0STAFF1"
    # Claiming one's own case again is fine and changes nothing.
    assert cli(cfg, "case", "claim", ref, "--by", "U0STAFF1").returncode == 0

    taken = cli(cfg, "case", "claim", ref, "--by", "anna", "--take-over")

    assert taken.returncode == 0
    shown = json.loads(cli(cfg, "case", "show", ref, "--format", "json").stdout)
    assert shown["assignee"] == "cli:anna"
    claims = [(a["actor"], a["detail"]) for a in shown["audit"] if a["action"] == "claimed"]
    assert claims == [("cli:U0STAFF1", {}), ("cli:anna", {"taken_over_from": "cli:U0STAFF1"})]
    # The previous assignee is told (console chat: on stdout).
    assert f"har tagit över {ref} från dig" in taken.stdout
