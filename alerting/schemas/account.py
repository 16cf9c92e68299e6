"""The account page's settings of the logged-in person."""

from __future__ import annotations

from typing import Any

from pydantic import field_validator

from .common import Body, Timezone, parser


class AccountSettings(Body):
    """The timezone the pages show times in (an IANA name); blank or null: the browser's."""

    timezone: Timezone | None = None

    @field_validator("timezone", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value


parse_account_settings = parser(AccountSettings)
