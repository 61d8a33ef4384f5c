"""Model folders on disk: where one is, whether it is complete, and its fingerprint.

A fingerprint is a short hash of everything that decides a model's outputs (config,
weights, tokenizer files, and the ``analyzer.json`` fields that change scores), so every
stored or cached score can say exactly which model produced it.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from analyzer.errors import ModelError
from analyzer.scoring.config import ModelConfig

WEIGHT_PATTERNS = ("*.safetensors", "pytorch_model*.bin", "model*.bin")
TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
    "vocab.json",
    "merges.txt",
    "spm.model",
    "sentencepiece.bpe.model",
    "tokenizer.model",
)
_HUB_PATTERNS = ["*.json", "*.txt", "*.model", "*.safetensors", "README.md"]


def resolve_folder(path: str | Path, allow_network: bool) -> Path:
    """A local model folder; a hub id becomes one only when the user opted in."""
    folder = Path(path).expanduser()
    if not folder.exists():
        if allow_network and re.fullmatch(r"[\w.\-]+(/[\w.\-]+)?", str(path)):
            try:
                from huggingface_hub import snapshot_download

                folder = Path(snapshot_download(str(path), allow_patterns=_HUB_PATTERNS))
            except Exception as exc:  # network, auth, unknown repo: all one user error
                raise ModelError(f"cannot download model {path!r}: {exc}") from exc
        else:
            hint = "" if allow_network else " (hub ids need --allow-network)"
            raise ModelError(f"model directory not found: {path}; pass a Hugging Face-format classifier folder{hint}")
    if not folder.is_dir():
        raise ModelError(f"not a model directory: {folder}")
    if not (folder / "config.json").is_file():
        raise ModelError(f"not a Hugging Face model folder (no config.json): {folder}")
    if not weight_files(folder):
        raise ModelError(f"no weights (model.safetensors or pytorch_model.bin) in {folder}")
    return folder


def weight_files(folder: Path) -> list[Path]:
    found: set[Path] = set()
    for pattern in WEIGHT_PATTERNS:
        found.update(p for p in folder.glob(pattern) if p.is_file())
    return sorted(found)


def fingerprint_dir(folder: Path, config: ModelConfig | None = None) -> str:
    """sha256 over config, weights and tokenizer files plus the analyzer.json fields that
    change outputs: 16 hex characters."""
    digest = hashlib.sha256()
    files = [folder / "config.json", *weight_files(folder)]
    files += [folder / name for name in TOKENIZER_FILES if (folder / name).is_file()]
    for path in files:
        digest.update(path.name.encode() + b"\0")
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    fields = (config or ModelConfig()).fingerprint_fields()
    digest.update(json.dumps(fields, sort_keys=True).encode())
    return digest.hexdigest()[:16]


def state_fingerprint(model: Any) -> str:
    """For a model built in memory: hash of its weights and config."""
    import torch

    digest = hashlib.sha256()
    config = getattr(model, "config", None)
    if config is not None and hasattr(config, "to_json_string"):
        digest.update(config.to_json_string(use_diff=False).encode())
    for key, tensor in sorted(model.state_dict().items()):
        digest.update(key.encode() + b"\0")
        digest.update(tensor.detach().to("cpu", torch.float32).contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]
