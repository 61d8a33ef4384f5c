"""Errors a user can cause and fix. The CLI prints them as one line and exits 2."""

from __future__ import annotations

import importlib.util


class AnalyzerError(Exception):
    """A user-facing error: bad input, a missing model, a limit exceeded."""

    def __init__(self, message: str, *, source: str | None = None, where: str | None = None) -> None:
        self.source = source
        self.where = where
        parts = [p for p in (source, where) if p]
        prefix = ":".join(parts)
        super().__init__(f"{prefix}: {message}" if prefix else message)


class InputError(AnalyzerError):
    """A file that cannot be read or parsed."""


class ModelError(AnalyzerError):
    """A model directory that is missing or not usable."""


class MissingExtra(AnalyzerError):
    """An optional dependency that is not installed; the message names the extra to install."""

    def __init__(self, extra: str, needed_by: str) -> None:
        self.extra = extra
        super().__init__(f"{needed_by} needs the [{extra}] extra: pip install 'thread-analyzer[{extra}]'")


def require_extra(module: str, extra: str, needed_by: str) -> None:
    """Raise ``MissingExtra`` unless ``module`` is importable; it is only looked up, not
    imported, so the check costs nothing where the module itself runs elsewhere."""
    try:
        found = importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package missing, or a module without a spec
        found = False
    if not found:
        raise MissingExtra(extra, needed_by)
