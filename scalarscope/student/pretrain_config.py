"""The English student's pretraining configuration and its cache folder (numpy-free and torch-free,
so the command line can show its defaults without importing torch)."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from scalarscope.errors import check_scalar

__all__ = ["PretrainConfig", "cache_dir", "student_folder"]


@dataclass(frozen=True)
class PretrainConfig:
    """Tokenizer, model and schedule. The default: 4 layers, width 128, a 4,096-token byte-level BPE
    (1.3M weights, 0.5M of them the tied embedding), 1,500 steps of 32 sentences (about 1.1 epochs).
    Measured on the shared 2-core machine (docs/ENGLISH.md): validation perplexity 183 against the
    unigram's 764 and the bigram's 143, in 837 s; beating the bigram needs more steps than that."""

    vocab_size: int = 4096
    tokenizer: str = "bytelevel"
    n_layer: int = 4
    n_embd: int = 128
    n_head: int = 4
    n_positions: int = 64
    batch_size: int = 32
    steps: int = 1500
    learning_rate: float = 3e-3
    warmup: int = 100
    weight_decay: float = 0.01
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("vocab_size", "n_layer", "n_embd", "n_head", "n_positions", "batch_size", "steps"):
            check_scalar(getattr(self, name), name, kind=int, min_value=1)
        check_scalar(self.learning_rate, "learning_rate", min_value=0.0, include_min=False)


def cache_dir() -> Path:
    """``$SCALARSCOPE_CACHE``, else ``~/.cache/scalarscope``."""
    return Path(os.environ.get("SCALARSCOPE_CACHE") or Path.home() / ".cache" / "scalarscope").expanduser()


def student_folder(corpus, config: PretrainConfig, root: Path | None = None) -> Path:
    key = hashlib.sha256(json.dumps([corpus.fingerprint, asdict(config)], sort_keys=True).encode()).hexdigest()[:16]
    return (root or cache_dir()) / "english-student" / key
