"""Errors a user can cause and fix. The CLI prints them as one line and exits 2."""

from __future__ import annotations


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
