"""Rule files for ``analyzer rules add --file`` and ``rules test --file``: JSON or YAML, one
rule, a list of them or {"rules": [...]}, every rule checked before any is stored."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from analyzer.commands.moderation import safe
from analyzer.errors import InputError
from analyzer.rules import ALL, Rule, RuleError

RULE_FIELDS = ("name", "kind", "severity", "pattern", "scope", "enabled")
MAX_RULE_FILE = 5_000_000  # bytes


def _lines(value: Any, field: str, where: str, path: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "\n".join(value)
    raise InputError(f"{field!r} must be a string or a list of strings", source=path, where=where)


def read_rule_file(path: str) -> list[Rule]:
    """The rules in a JSON or YAML file: one rule, a list of them, or {"rules": [...]};
    each checked, InputError naming the file and the rule."""
    from analyzer.rules import validate

    p = Path(path)
    try:
        if p.stat().st_size > MAX_RULE_FILE:
            raise InputError(f"a rule file has at most {MAX_RULE_FILE:,} bytes", source=path)
        raw = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read it: {exc.strerror}", source=path) from None
    except UnicodeDecodeError:
        raise InputError("not UTF-8 text", source=path) from None
    if p.suffix.lower() in (".yaml", ".yml"):
        try:
            import yaml  # PyYAML comes with transformers
        except ImportError:
            raise InputError(
                "YAML rule files need PyYAML (pip install pyyaml); or write the rules as JSON", source=path
            ) from None
        try:
            data = yaml.safe_load(raw)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"line {mark.line + 1}" if mark is not None else None
            raise InputError(f"not YAML: {getattr(exc, 'problem', None) or exc}", source=path, where=where) from None
    else:
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise InputError(f"not JSON: {exc.msg}", source=path, where=f"line {exc.lineno}") from None
    if isinstance(data, dict) and "rules" in data:
        data = data["rules"]
    items = data if isinstance(data, list) else [data]
    if not items:
        raise InputError("no rules in it", source=path)
    out: list[Rule] = []
    for n, item in enumerate(items, 1):
        where = f"rule {n}"
        if not isinstance(item, dict):
            raise InputError("a rule is an object with name, kind, pattern, ...", source=path, where=where)
        unknown = sorted(set(map(str, item)) - set(RULE_FIELDS))
        if unknown:
            raise InputError(
                f"unknown field(s) {', '.join(unknown)}; a rule has {', '.join(RULE_FIELDS)}", source=path, where=where
            )
        enabled = item.get("enabled", True)
        if not isinstance(enabled, bool):
            raise InputError("'enabled' must be true or false", source=path, where=where)
        for field in ("name", "kind", "severity"):
            if field in item and not isinstance(item[field], str):
                raise InputError(f"{field!r} must be a string", source=path, where=where)
        rule = Rule(
            name=item.get("name", ""),
            kind=item.get("kind", ""),
            severity=item.get("severity", "suspect"),
            pattern=_lines(item.get("pattern", ""), "pattern", where, path),
            scope=_lines(item.get("scope", ALL), "scope", where, path),
            enabled=enabled,
        )
        try:
            out.append(validate(rule))
        except RuleError as exc:
            label = f"{where} ({safe(rule.name, 40)!r})" if rule.name.strip() else where
            raise InputError(str(exc), source=path, where=label) from None
    return out
