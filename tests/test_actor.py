"""The authorised actor: made only by authorize(), checked once, stored as before."""

from __future__ import annotations

import pytest

from bot.actions.trail import SYSTEM_ACTOR, Actor, authorize
from bot.config import parse_config
from bot.errors import NotAllowed

CFG = parse_config({"chat": {"staff_users": ["U0STAFF1"], "ombudsman_users": ["U0OMBUD"]}})


def test_only_authorize_makes_an_actor() -> None:
    cfg = CFG
    with pytest.raises(TypeError):
        Actor("slack:U0STAFF1")
    staff = authorize(cfg, "slack:U0STAFF1")
    assert isinstance(staff, Actor) and staff == "slack:U0STAFF1"
    assert authorize(cfg, staff) is staff  # already checked: not checked again
    assert isinstance(authorize(cfg, "cli:anna"), Actor)
    assert authorize(cfg, "slack:U0OMBUD") == "slack:U0OMBUD"
    assert authorize(cfg, "system") == SYSTEM_ACTOR


def test_strangers_and_bare_user_ids_are_refused() -> None:
    cfg = CFG
    for who in ("slack:U0NOBODY", "U0STAFF1", "", "slack:"):
        with pytest.raises(NotAllowed):
            authorize(cfg, who)
