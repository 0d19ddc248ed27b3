"""Reading a checkpoint file: one descriptor, no unpickling, the tensor checksum verified.

See :mod:`scalarscope.engine.checkpoint` for the format.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from scalarscope.engine import _codec
from scalarscope.errors import CheckpointError

FORMAT = "scalarscope-checkpoint-2"
MAX_BYTES = 16 * 2**30  # a checkpoint is read whole into memory; larger files are refused


def _checkpoint_path(path) -> Path:
    import os

    if not isinstance(path, str | os.PathLike) or not os.fspath(path):
        raise CheckpointError(f"load needs the path of a checkpoint file, got {path!r}; e.g. "
                              "ScalarScopeEngine.load('run.ckpt')")
    return Path(path).expanduser()


def tensor_digest(tensors: dict[str, torch.Tensor]) -> str:
    """sha256 over every tensor's name, dtype, shape and bytes, in name order (stored at save,
    checked at load: a flipped bit is found, not trained on)."""
    import hashlib

    digest = hashlib.sha256()
    for name in sorted(tensors):
        tensor = tensors[name].detach().cpu().contiguous()
        digest.update(f"{name}|{tensor.dtype}|{tuple(tensor.shape)}|".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def _read(path: Path) -> tuple[dict, dict[str, torch.Tensor]]:
    """The spec and tensors of a checkpoint file; never unpickles anything. The file is opened once
    and everything is read from that descriptor, so a concurrent replacement of the file (an atomic
    rename) cannot mix two versions."""
    import os
    import stat
    import warnings

    from safetensors.torch import load

    from scalarscope.errors import ConfigError

    try:
        handle = open(path, "rb")  # noqa: SIM115 (closed below, after fstat)
    except FileNotFoundError:
        raise CheckpointError(f"checkpoint {str(path)!r} does not exist; save one with engine.save(path)") from None
    except IsADirectoryError:
        raise CheckpointError(f"checkpoint {str(path)!r} is not a regular file") from None
    except OSError as exc:
        raise CheckpointError(f"checkpoint {str(path)!r} cannot be opened ({exc.strerror})") from None
    with handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise CheckpointError(f"checkpoint {str(path)!r} is not a regular file")
        if info.st_size > MAX_BYTES:
            raise CheckpointError(f"checkpoint {str(path)!r} is {info.st_size / 2**30:.1f} GiB; at most "
                                  f"{MAX_BYTES // 2**30} GiB are read")
        data = handle.read()
    if data[:2] == b"PK":
        raise CheckpointError(
            f"{str(path)!r} is a checkpoint in the old pickled format (scalarscope-checkpoint-1), which is no longer "
            "loaded: unpickling a file can run code. Re-run the training, or load it once with the ScalarScope "
            "version that wrote it and save again.")
    try:
        metadata = _metadata(data)
        if metadata.get("format") != FORMAT:
            raise CheckpointError(f"{str(path)!r} is not a {FORMAT} file (format: {metadata.get('format')!r})")
        tensors = load(data)
        spec = _codec.decode(json.loads(metadata["scalarscope"]))
    except (CheckpointError, ConfigError) as exc:
        if isinstance(exc, CheckpointError):
            raise
        raise CheckpointError(f"checkpoint {str(path)!r} holds an invalid setting: {exc}") from None
    except Exception as exc:  # a truncated or foreign file: safetensors and json raise many kinds
        raise CheckpointError(f"checkpoint {str(path)!r} could not be read ({type(exc).__name__}: {exc}); "
                              "it is corrupt or not a ScalarScope checkpoint") from exc
    if not isinstance(spec, dict) or spec.get("format") != FORMAT:
        raise CheckpointError(f"{str(path)!r} is not a {FORMAT} file")
    stored = metadata.get("tensor_sha256")
    if stored is None:
        warnings.warn(f"checkpoint {str(path)!r} has no tensor checksum (written before checksums were stored); "
                      "its tensors cannot be verified: save it again", UserWarning, stacklevel=3)
    elif stored != tensor_digest(tensors):
        raise CheckpointError(f"checkpoint {str(path)!r}: its tensor data does not match its checksum (a changed "
                              "or damaged file); it is refused. Use another copy or re-run the training.")
    return spec, tensors


def _metadata(data: bytes) -> dict:
    """The ``__metadata__`` of safetensors bytes (a little-endian u64 header length, then JSON)."""
    size = int.from_bytes(data[:8], "little")
    if len(data) < 8 or size > len(data) - 8:
        raise ValueError("the safetensors header is truncated")
    header = json.loads(data[8:8 + size])
    metadata = header.get("__metadata__") if isinstance(header, dict) else None
    return metadata if isinstance(metadata, dict) else {}
