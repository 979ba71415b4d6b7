"""Who the bot speaks for (organisation) and how long it keeps what (privacy)."""

from __future__ import annotations

from pydantic import Field

from bot.config.base import Section


class OrganisationConfig(Section):
    name: str = "Exempel kommun"
    phone: str = "+46 8 123 456 00"
    own_numbers: tuple[str, ...] = ()
    ombudsman_contact: str = "klagoombudet@example.org"
    privacy_url: str = "https://example.org/personuppgifter"
    own_addresses: tuple[str, ...] = ()
    templates_dir: str = ""


class PrivacyConfig(Section):
    """Retention and subject access (see docs/privacy.md)."""

    retention_sweep: bool = True  # run the retention sweep in ``run`` and ``tick``
    closed_case_days: int = Field(730, ge=0)  # anonymise cases closed this long ago (0: never)
    quarantine_days: int = Field(90, ge=0)  # delete quarantined and unattached mail (0: never)
    export_dir: str = "var/exports"  # subject-access exports without --out go here (0700)
