"""Where the models we ship live, and which of them score by default.

A model directory is a Hugging Face folder plus ``analyzer.json``; those whose
``analyzer.json`` says ``"default": true`` are used when no ``--model`` is given.
"""

from __future__ import annotations

import os
from pathlib import Path

from analyzer.errors import ModelError
from analyzer.scoring.config import ModelConfig

ENV_MODELS = "THREAD_ANALYZER_MODELS"
NO_DEFAULTS = "no default models found in models/; pass --model DIR (a Hugging Face-format classifier folder)"


def model_roots() -> list[Path]:
    """Folders searched for models: ``$THREAD_ANALYZER_MODELS`` (os.pathsep-separated),
    then the ``models/`` folder next to the package (a checkout or editable install)."""
    roots = [Path(p).expanduser() for p in os.environ.get(ENV_MODELS, "").split(os.pathsep) if p]
    roots.append(Path(__file__).resolve().parents[2] / "models")
    return roots


def is_default(folder: Path) -> bool:
    """Whether the folder's analyzer.json marks it as a default model."""
    return ModelConfig.read_default_flag(folder)


def default_model_dirs(root: str | Path | None = None) -> list[Path]:
    """The default model directories under ``root`` (or the usual roots), sorted by
    name; ModelError with what to do instead when there are none."""
    roots = [Path(root)] if root is not None else model_roots()
    found: list[Path] = []
    for base in roots:
        if not base.is_dir():
            continue
        found.extend(sorted(d for d in base.iterdir() if d.is_dir() and is_default(d)))
        if found:
            return found  # the first root with defaults wins; later roots are fallbacks
    raise ModelError(NO_DEFAULTS)
