"""Write bot/domain/public_holidays.json: Sweden's and Norway's public holidays, 2000-2070.

The working calendar reads its holidays from this table, so the bot's process does not
import the ``holidays`` library, which loads every country it knows (~12 MB resident)
to give us two; a year outside the table still asks the library. The table is the
library's own output: ``tests/domain/test_holiday_table.py`` fails when a new release
of the library disagrees with it; then run ``.venv/bin/python scripts/holiday_table.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import holidays

from bot.domain.calendar import COUNTRIES

FIRST, LAST = 2000, 2070
TABLE = Path(__file__).resolve().parent.parent / "bot" / "domain" / "public_holidays.json"


def table() -> dict[str, object]:
    return {
        "source": f"holidays {holidays.__version__}",
        "first_year": FIRST,
        "last_year": LAST,
        **{
            country: {
                str(year): sorted(
                    d.isoformat() for d in holidays.country_holidays(country, years=year)
                )
                for year in range(FIRST, LAST + 1)
            }
            for country in COUNTRIES
        },
    }


def as_text(data: dict[str, object]) -> str:
    """JSON with one year a line (readable in a diff when the library changes)."""
    lines = ["{"]
    for key, value in sorted(data.items()):
        if isinstance(value, dict):
            years = [f"  {json.dumps(y)}: {json.dumps(days)}" for y, days in value.items()]
            lines.append(f"  {json.dumps(key)}: {{\n" + ",\n".join(years) + "\n  },")
        else:
            lines.append(f"  {json.dumps(key)}: {json.dumps(value)},")
    lines[-1] = lines[-1].rstrip(",")
    return "\n".join(lines) + "\n}\n"


if __name__ == "__main__":
    TABLE.write_text(as_text(table()))
    print(TABLE)
