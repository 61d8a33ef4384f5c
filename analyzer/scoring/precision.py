"""How a model's weights run: float32, bfloat16 or int8, on which device.

"auto" picks the fastest precision measured to keep validation ROC-AUC and macro-F1 within
0.005 of float32 (docs/scaling.md): int8 on a CPU, bfloat16 on a GPU that has it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from analyzer.errors import ModelError

if TYPE_CHECKING:
    import torch

# What ``precision=`` accepts (see ``Classifier.from_pretrained``).
PRECISIONS = ("float32", "bfloat16", "int8", "auto")


def auto_device() -> torch.device:
    import torch

    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def resolve_dtype(precision: str, device: torch.device) -> torch.dtype:
    """The weights' dtype: bfloat16 where it is asked for, or "auto" on a GPU that has it
    (on a CPU "auto" means int8, see ``from_pretrained``; float32 without a quantized engine)."""
    import torch

    if precision == "float32":
        return torch.float32
    if precision == "bfloat16":
        return torch.bfloat16
    if precision == "auto":
        native = device.type == "cuda" and torch.cuda.is_bf16_supported()
        return torch.bfloat16 if native else torch.float32
    raise ModelError(f"unknown precision {precision!r}; use float32, bfloat16, int8 or auto")


def int8_available() -> bool:
    """Whether this torch build has a quantized CPU engine (fbgemm/x86 on x86, qnnpack on ARM)."""
    import torch

    return any(engine != "none" for engine in torch.backends.quantized.supported_engines)


def quantize_int8(model: Any, device: torch.device | None = None, keep_float: Sequence[str] = ()) -> Any:
    """Dynamic int8 quantization of the encoder's linear layers (int8 weights with one scale
    per output channel, activations quantized per batch), where CPU inference spends most of
    its time; embeddings, layer norms, attention, pooler and the classification head stay
    float32. Per-channel scales keep validation ROC-AUC and macro-F1 of the default models
    within 0.002 of float32 (one scale per tensor moved them by up to 0.008; docs/scaling.md).
    CPU only (fbgemm on x86, with VNNI where the CPU has it).

    ``keep_float``: linear layers (module names, e.g. ``bert.encoder.layer.0.output.dense``)
    that stay float32, from the folder's ``int8_keep_float``: the few layers whose inputs have
    outliers that one activation scale per batch cuts badly (a model's card says which, and
    what leaving them float costs)."""
    import warnings

    import torch

    if device is not None and torch.device(device).type != "cpu":
        raise ModelError(f"int8 precision runs on the CPU only, not on {device}; use bfloat16 on a GPU")
    base = model.base_model
    prefix = f"{model.base_model_prefix}." if base is not model else ""
    names = {
        prefix + name
        for name, module in base.named_modules()
        if isinstance(module, torch.nn.Linear) and "pooler" not in name
    }
    names -= set(keep_float)  # the names were checked when the folder loaded (check_keep_float)
    with warnings.catch_warnings():  # torch.ao.quantization announces its move to torchao
        warnings.simplefilter("ignore")
        try:
            from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic
        except ImportError:
            raise Int8Unavailable(
                f"this torch ({torch.__version__}) has no torch.ao dynamic quantization; "
                "use --precision float32, or install the pinned torch==2.13.0"
            ) from None

        spec = {name: per_channel_dynamic_qconfig for name in names}
        model = quantize_dynamic(model.to("cpu", torch.float32), spec, dtype=torch.qint8)
    model.analyzer_precision = "int8"
    return model


def check_keep_float(model: Any, names: Sequence[str], source: str) -> None:
    """A ModelError naming ``source`` (the folder's analyzer.json) when ``int8_keep_float``
    names a module that is no linear layer of ``model``: checked at load, whatever the precision."""
    import torch

    linear = {name for name, module in model.named_modules() if isinstance(module, torch.nn.Linear)}
    unknown = sorted(set(names) - linear)
    if unknown:
        raise ModelError(f"int8_keep_float names no linear layer of this model: {', '.join(unknown)}", source=source)


class Int8Unavailable(ModelError):
    """The installed torch cannot run our int8 path."""


def place(model: Any, device: str | torch.device | None, precision: str, keep_float: Sequence[str] = ()) -> Any:
    """``model`` on ``device`` (CUDA when present) at ``precision``, in eval mode; a
    ModelError that says why when the device or precision cannot be used. ``keep_float``:
    see ``quantize_int8``."""
    import torch

    try:
        target = torch.device(device) if device is not None else auto_device()
        if precision == "auto" and target.type == "cpu" and int8_available():
            try:
                model = quantize_int8(model, target, keep_float)
            except Int8Unavailable as exc:
                import sys

                print(f"note: {exc}; scoring in float32", file=sys.stderr)
                model.to(target, dtype=torch.float32)
        elif precision == "int8":
            model = quantize_int8(model, target, keep_float)
        else:
            model.to(target, dtype=resolve_dtype(precision, target))
    except (RuntimeError, AssertionError) as exc:  # "gpu", or CUDA asked for on a CPU-only build
        raise ModelError(f"cannot use device {device!r}: {exc}") from exc
    model.eval()
    return model
