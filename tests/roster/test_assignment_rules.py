"""The pure rules: who is away, how heavy a day is, who gets the next offer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.config import RosterConfig
from bot.domain.fair_share import choose_assignee, is_away, load

WORDS = RosterConfig().away_words
EMOJIS = RosterConfig().away_emojis
NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def test_away_by_status_text_in_swedish_and_norwegian() -> None:
    for text in (
        "Semester till 3/12",
        "Sjukskriven",
        "sjuk idag",
        "VAB",
        "Föräldraledig",
        "Ferie",
        "Sykemeldt ut uka",
        "Foreldrepermisjon",
        "On parental leave",
    ):
        assert is_away({"status_text": text}, WORDS, EMOJIS), text


def test_away_by_status_emoji_with_or_without_colons() -> None:
    assert is_away({"status_emoji": ":palm_tree:"}, WORDS, EMOJIS)
    assert is_away({"status_emoji": ":face_with_thermometer:"}, WORDS, EMOJIS)
    assert is_away({"status_emoji": ":baby:"}, (), ("baby",))


def test_working_statuses_are_not_away() -> None:
    for profile in (
        {},
        {"status_text": "", "status_emoji": ""},
        {"status_text": "I möte till 10", "status_emoji": ":calendar:"},
        {"status_text": "Hos psykologen"},  # "syk" is not a word in it
        {"status_text": "Lediga tider i kalendern"},
    ):
        assert not is_away(profile, WORDS, EMOJIS), profile


def test_load_weighs_age_and_hard_calls() -> None:
    fresh = [NOW]
    assert load(fresh, 0, NOW, age_weight_per_day=0.5, hard_call_weight=2.0) == 1.0
    two_days_old = [NOW - timedelta(days=2)]
    assert load(two_days_old, 0, NOW, age_weight_per_day=0.5, hard_call_weight=2.0) == 2.0
    assert load([], 1, NOW, age_weight_per_day=0.5, hard_call_weight=2.0) == 2.0
    assert load(fresh + two_days_old, 2, NOW, age_weight_per_day=0.5, hard_call_weight=2.0) == 7.0


def test_lightest_load_wins() -> None:
    assert choose_assignee(["A", "B", "C"], {"A": 2.0, "B": 0.5, "C": 1.0}, {}, 6, None) == "B"


def test_ties_go_round_robin_after_the_last_offer() -> None:
    people = ["A", "B", "C"]
    assert choose_assignee(people, {}, {}, 6, None) == "A"
    assert choose_assignee(people, {}, {}, 6, "A") == "B"
    assert choose_assignee(people, {}, {}, 6, "C") == "A"
    # Only the tied lightest take part in the rotation.
    assert choose_assignee(people, {"B": 1.0}, {}, 6, "A") == "C"
    # Someone no longer on the roster: start from the top.
    assert choose_assignee(people, {}, {}, 6, "Z") == "A"


def test_cap_skips_to_the_next_person() -> None:
    assert choose_assignee(["A", "B"], {"A": 0.0, "B": 3.0}, {"A": 6}, 6, None) == "B"
    assert choose_assignee(["A", "B"], {}, {"A": 6, "B": 7}, 6, None) is None
    assert choose_assignee(["A", "B"], {}, {"A": 60}, 0, None) == "A"  # 0: no cap
    assert choose_assignee([], {}, {}, 6, None) is None
