"""Reading and writing the URL's query parameters, so a link carries the page's state.

Values in a URL are whatever someone typed or pasted: each reader here returns a valid
value or the default, never raises. Writers drop defaults, so links stay short.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any, TypeVar

T = TypeVar("T")
MAX_PARAM = 500  # longer values are ignored: no legitimate one is that long


def _raw(params: Mapping[str, Any], key: str) -> str | None:
    value = params.get(key)
    if isinstance(value, (list, tuple)):
        value = value[-1] if value else None
    if value is None:
        return None
    value = str(value)
    return value if len(value) <= MAX_PARAM else None


def get_str(params: Mapping[str, Any], key: str, default: str | None = None) -> str | None:
    value = _raw(params, key)
    return value if value not in (None, "") else default


def get_choice(params: Mapping[str, Any], key: str, choices: Sequence[T], default: T) -> T:
    """The parameter if it is one of ``choices`` (compared as text), else ``default``."""
    value = _raw(params, key)
    for choice in choices:
        if value is not None and str(choice) == value:
            return choice
    return default


def get_float(params: Mapping[str, Any], key: str, default: float, lo: float = 0.0, hi: float = 1.0) -> float:
    """A finite number in [lo, hi], else ``default``."""
    try:
        value = float(_raw(params, key) or "x")
    except ValueError:
        return default
    return value if math.isfinite(value) and lo <= value <= hi else default


def get_int(params: Mapping[str, Any], key: str, default: int, lo: int = 0, hi: int = 1_000_000) -> int:
    try:
        value = int(_raw(params, key) or "x")
    except ValueError:
        return default
    return value if lo <= value <= hi else default


def get_bool(params: Mapping[str, Any], key: str, default: bool = False) -> bool:
    value = _raw(params, key)
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    return default


def get_date(params: Mapping[str, Any], key: str) -> date | None:
    try:
        return date.fromisoformat(_raw(params, key) or "")
    except ValueError:
        return None


def encode(values: Mapping[str, Any], defaults: Mapping[str, Any] | None = None) -> dict[str, str]:
    """Query parameters for ``values``, leaving out None and values equal to their default."""
    defaults = defaults or {}
    out: dict[str, str] = {}
    for key, value in values.items():
        if value is None or (key in defaults and defaults[key] == value):
            continue
        if isinstance(value, bool):
            out[key] = "1" if value else "0"
        elif isinstance(value, float):
            out[key] = f"{value:g}"
        elif isinstance(value, date):
            out[key] = value.isoformat()
        else:
            out[key] = str(value)
    return out


def threshold_key(label: str) -> str:
    """The parameter holding a tuned threshold for ``label``."""
    return f"t_{label}"


def thresholds_from(params: Mapping[str, Any], labels: Sequence[str]) -> dict[str, float]:
    """Tuned thresholds carried by a link (labels absent from it are not included)."""
    out: dict[str, float] = {}
    for label in labels:
        value = get_float(params, threshold_key(label), -1.0, 0.0, 1.0)
        if value >= 0:
            out[label] = value
    return out


def threshold_params(thresholds: Mapping[str, float]) -> dict[str, str]:
    """Query parameters carrying tuned thresholds (``t_<label>``), for links that must show
    the same numbers as the page they leave (a link opens a new session)."""
    return {threshold_key(label): f"{value:g}" for label, value in sorted(thresholds.items())}
