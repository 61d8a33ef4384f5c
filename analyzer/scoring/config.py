"""``analyzer.json``: what a model folder says about itself besides its weights.

One reader and one writer for every part of the project (scoring, the default-model
registry, the dashboard, training), like SetFit's ``config_setfit.json`` beside the weights.
A folder without the file is still a model: everything has a default.

Label groups let one folder hold several heads over one encoder: e.g. toxicity attributes
as independent sigmoids and sentiment as one softmax, scored in one forward pass.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from analyzer.errors import ModelError

CONFIG_NAME = "analyzer.json"
Activation = Literal["sigmoid", "softmax"]
TASKS = ("toxicity", "sentiment", "multi")
_KNOWN = {
    "name",
    "task",
    "default",
    "base_model",
    "max_length",
    "labels",
    "label_aliases",
    "thresholds",
    "groups",
    "context",
    "parent_weight",
    "normalizer",
    "int8_keep_float",
    "metrics",
    "training",
}


@dataclass(frozen=True)
class LabelGroup:
    """Outputs that share an activation: ``sigmoid`` (independent attributes) or
    ``softmax`` (exclusive classes). ``labels`` are raw output names, in output order."""

    name: str
    labels: tuple[str, ...]
    activation: Activation

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "labels": list(self.labels), "activation": self.activation}


@dataclass
class ModelConfig:
    """The fields of ``analyzer.json``; unknown keys survive a load/save round trip."""

    name: str | None = None
    task: str | None = None  # "toxicity" | "sentiment" | "multi"; None: inferred from labels
    default: bool = False
    base_model: str | None = None
    max_length: int | None = None
    labels: list[str] = field(default_factory=list)
    label_aliases: dict[str, str | None] | None = None  # None: the file has no such key
    thresholds: dict[str, float] = field(default_factory=dict)
    groups: list[LabelGroup] = field(default_factory=list)
    context: str | None = None  # "parent": the model reads (parent, reply) pairs
    parent_weight: float | None = None  # context models: add this much of the parent's own logit
    normalizer: str | None = None  # a text normalizer applied before tokenization
    int8_keep_float: list[str] = field(default_factory=list)  # linear layers int8 leaves float32
    metrics: dict[str, Any] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    # ------------------------------------------------------------------ I/O
    @classmethod
    def from_dict(cls, raw: dict[str, Any], source: str = CONFIG_NAME) -> ModelConfig:
        """Validated fields; a ModelError naming ``source`` for a wrong type."""
        aliases = raw.get("label_aliases")
        if aliases is not None and not isinstance(aliases, dict):
            raise ModelError("label_aliases must be an object", source=source)
        task = raw.get("task")
        if task is not None and task not in TASKS:
            raise ModelError(f"task must be one of {', '.join(TASKS)}, not {task!r}", source=source)
        context = raw.get("context")
        if context not in (None, "parent"):
            raise ModelError(f'context must be "parent" or absent, not {context!r}', source=source)
        return cls(
            name=raw.get("name"),
            task=task,
            default=raw.get("default") is True,
            base_model=raw.get("base_model"),
            max_length=int(raw["max_length"]) if raw.get("max_length") is not None else None,
            labels=[str(x) for x in raw.get("labels") or []],
            label_aliases=None
            if aliases is None
            else {str(k): (None if v is None else str(v)) for k, v in aliases.items()},
            thresholds={str(k): float(v) for k, v in (raw.get("thresholds") or {}).items()},
            groups=_groups(raw.get("groups"), source),
            context=context,
            parent_weight=_parent_weight(raw, source),
            normalizer=raw.get("normalizer"),
            int8_keep_float=_names(raw.get("int8_keep_float"), "int8_keep_float", source),
            metrics=raw.get("metrics") or {},
            training=raw.get("training") or {},
            extra={k: v for k, v in raw.items() if k not in _KNOWN},
        )

    @classmethod
    def load(cls, folder: str | Path) -> ModelConfig:
        """The folder's ``analyzer.json``, or the defaults when it has none."""
        path = Path(folder) / CONFIG_NAME
        if not path.is_file():
            return cls()
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ModelError(f"unreadable {CONFIG_NAME}: {exc}", source=str(path)) from exc
        if not isinstance(raw, dict):
            raise ModelError(f"{CONFIG_NAME} must hold a JSON object", source=str(path))
        return cls.from_dict(raw, str(path))

    @classmethod
    def read_default_flag(cls, folder: str | Path) -> bool:
        """Whether the folder is a default model; False for anything unreadable (a cheap
        check used when listing folders)."""
        try:
            return cls.load(folder).default
        except ModelError:
            return False

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in asdict(self).items():
            if key == "extra":
                continue
            if key == "groups":
                value = [g.to_dict() for g in self.groups]
            if value in (None, [], {}) and not (key == "label_aliases" and value is not None):
                continue
            out[key] = value
        out.update(self.extra)
        return out

    def save(self, folder: str | Path) -> Path:
        """Write ``analyzer.json`` atomically (a reader never sees half a file)."""
        path = Path(folder) / CONFIG_NAME
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, path)
        return path

    def fingerprint_fields(self) -> dict[str, Any]:
        """The fields that change what the model outputs for a text (hashed into its
        fingerprint beside the weights), as they stand in the file. Fields absent from older
        folders are left out, so their fingerprints (and the stores and caches keyed by
        them) stay the same."""
        out: dict[str, Any] = {"label_aliases": self.label_aliases, "max_length": self.max_length}
        if self.groups:
            out["groups"] = [g.to_dict() for g in self.groups]
        if self.context:
            out["context"] = self.context
        if self.parent_weight is not None:
            out["parent_weight"] = self.parent_weight
        if self.normalizer:
            out["normalizer"] = self.normalizer
        if self.int8_keep_float:  # int8 scores change with it
            out["int8_keep_float"] = self.int8_keep_float
        return out


def _names(value: Any, key: str, source: str) -> list[str]:
    """A list of strings (module names), or a ModelError naming ``source``."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ModelError(f"{key} must be a list of module names, not {value!r}", source=source)
    return list(value)


def _parent_weight(raw: dict[str, Any], source: str) -> float | None:
    """How much of the parent's own toxicity a context model adds to a pair's logit: a
    number from 0 to 4, only beside ``context: "parent"``."""
    value = raw.get("parent_weight")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 4:
        raise ModelError(f"parent_weight must be a number from 0 to 4, not {value!r}", source=source)
    if raw.get("context") != "parent":
        raise ModelError('parent_weight needs "context": "parent" (it weighs the parent of a pair)', source=source)
    return float(value)


def _groups(raw: Any, source: str) -> list[LabelGroup]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ModelError("groups must be a list of {name, labels, activation}", source=source)
    groups = []
    for item in raw:
        if not isinstance(item, dict) or item.get("activation") not in ("sigmoid", "softmax"):
            raise ModelError("each group needs labels and an activation (sigmoid or softmax)", source=source)
        labels = item.get("labels")
        if not isinstance(labels, list) or not labels:
            raise ModelError(f"group {item.get('name')!r} has no labels", source=source)
        groups.append(
            LabelGroup(str(item.get("name") or item["activation"]), tuple(map(str, labels)), item["activation"])
        )
    return groups
