"""Argument checks of the Hugging Face student: the device, the head count, and what
``HFStudent.from_pretrained`` may load (a folder's config is read as JSON and checked before
``transformers`` sees it, see :mod:`scalarscope._hf_config`).

A name that is not a local folder is a hub name. With ``HF_HUB_OFFLINE`` (or
``TRANSFORMERS_OFFLINE``) set, that fails at once instead of after the hub client's retries; a
name that looks like a path but is not a folder
is reported as a missing folder, never sent to the hub (a hub name is ``name`` or ``org/name``:
an absolute path, one starting with ``.`` or ``~``, or one with two slashes is a path).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from scalarscope.errors import ConfigError, ConfigTypeError


def device_problem(device: object) -> str | None:
    """Why torch cannot place a model on ``device`` here (None when it can)."""
    import torch

    try:
        parsed = torch.device(device)  # type: ignore[arg-type]
    except (RuntimeError, TypeError) as exc:
        return f"{device!r} is not a torch device ({exc})"
    if parsed.type == "cpu" or parsed.type == "meta":
        return None if parsed.type == "cpu" else "the meta device holds no weights"
    backend = getattr(torch, parsed.type, None)
    if backend is None or not callable(getattr(backend, "is_available", None)) or not backend.is_available():
        return f"{device!r} is not available in this torch build ({torch.__version__}); use device='cpu'"
    return None


def check_device(device: object) -> None:
    problem = device_problem(device)
    if problem is not None:
        raise ConfigError(f"device: {problem}")


def check_head_count(n_heads: object) -> int:
    import numbers

    if isinstance(n_heads, bool) or not isinstance(n_heads, numbers.Integral):
        raise ConfigTypeError(f"n_heads must be an int >= 1, got {n_heads!r} ({type(n_heads).__name__}); e.g. n_heads=1")
    if n_heads < 1:
        raise ConfigError(f"n_heads must be >= 1, got {n_heads}; the scalar head needs one output per evaluator")
    return int(n_heads)


def _offline() -> bool:
    return any(os.environ.get(k, "").strip().lower() in ("1", "true", "yes", "on")
               for k in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def check_pretrained_source(path_or_name: object, *, trust_remote_code: bool) -> str:
    """``path_or_name`` as a str, refused when it cannot be loaded safely (see the module docstring).

    A local folder's ``config.json`` is checked unless the caller trusts its code."""
    from scalarscope._hf_config import check_model_config

    if not isinstance(path_or_name, str | os.PathLike) or not os.fspath(path_or_name):
        raise ConfigTypeError(f"from_pretrained needs a model folder or a hub name, got {path_or_name!r}")
    text = os.fspath(path_or_name)
    folder = Path(text).expanduser()
    if not folder.is_dir():
        if os.path.isabs(text) or text.startswith((".", "~")) or text.count("/") > 1 or folder.exists():
            raise ConfigError(f"model folder {text!r} does not exist (or is not a folder); pass a folder written by "
                              "save_pretrained")
        if _offline():
            raise ConfigError(f"{text!r} is not a local folder and the hub is off (HF_HUB_OFFLINE / "
                              "TRANSFORMERS_OFFLINE is set); pass a local model folder")
        return text
    config_file = folder / "config.json"
    if not config_file.is_file():
        raise ConfigError(f"model folder {text!r} has no config.json; pass a folder written by save_pretrained")
    if not trust_remote_code:
        try:
            config = json.loads(config_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{config_file} is not valid JSON ({exc})") from None
        check_model_config(config, str(config_file), error=ConfigError)
    return str(folder)
