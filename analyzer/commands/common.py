"""Option callbacks that several subcommands share (``parse``, ``score``): public here, so
no command imports another command's private helpers."""

from __future__ import annotations

from datetime import datetime

import click

from analyzer.parsers.base import aware


def parse_now(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    """``--now``: an ISO 8601 time (a trailing Z means UTC) made time-zone aware; None when not given."""
    if value is None:
        return None
    try:
        return aware(datetime.fromisoformat(value.strip().replace("Z", "+00:00")))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 time such as 2022-05-10T12:00:00Z") from None


def parse_columns(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> dict[str, str]:
    """``--column ROLE=COLUMN`` (repeatable) as {role: column}, each role one of the tabular parser's."""
    from analyzer.parsers.tabular import ROLES

    out: dict[str, str] = {}
    for item in values:
        role, sep, name = item.partition("=")
        role = role.strip().lower()
        if not sep or role not in ROLES or not name.strip():
            raise click.BadParameter(f"{item!r}: use ROLE=COLUMN with ROLE one of {', '.join(ROLES)}")
        out[role] = name.strip()
    return out
