"""The written-down public holidays are the ``holidays`` library's, year by year; outside
the table the library is asked (see bot.domain.calendar.public_holidays)."""

from __future__ import annotations

from datetime import date

import holidays
import pytest

from bot.domain import calendar
from bot.domain.calendar import COUNTRIES, public_holidays


@pytest.mark.parametrize("country", COUNTRIES)
def test_the_table_is_what_the_library_says_for_every_year_it_holds(country: str) -> None:
    table = calendar._table()
    years = range(int(table["first_year"]), int(table["last_year"]) + 1)  # type: ignore[call-overload]
    assert len(years) >= 50
    for year in years:
        library = frozenset(holidays.country_holidays(country, years=year).keys())
        assert public_holidays(country, year) == library, (
            f"{country} {year}: the holidays library changed; "
            "run .venv/bin/python scripts/holiday_table.py"
        )


def test_a_year_outside_the_table_is_asked_of_the_library() -> None:
    assert "1999" not in calendar._table()["SE"]
    assert date(1999, 6, 6) not in public_holidays("SE", 1999)  # national day from 2005
    assert date(2090, 12, 25) in public_holidays("NO", 2090)
    assert public_holidays("SE", 2090) == frozenset(holidays.country_holidays("SE", years=2090))
