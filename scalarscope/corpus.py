"""English sentences from a text source, cleaned and split deterministically.

Default source: Debian's ``fortunes`` package (``/usr/share/games/fortunes``: entries separated by
``%`` lines) and ``wordnet-base`` (``/usr/share/wordnet/data.*``: the example sentences quoted in
each synset's gloss). Any UTF-8 text file, or a folder of them, can be given instead (one entry per
blank-line-separated paragraph; ``%`` lines also separate entries).

Cleaning, in order: whitespace collapsed; entries split into sentences after ``.``, ``!`` or ``?``
followed by a space and a letter or quote; sentences kept when they have 4 to 20 words,
only printable ASCII letters, digits, spaces and common punctuation (``.,;:!?'"-()$%&/``), at least
60% letters among their characters, and at least one lower-case letter; duplicates (ignoring case)
dropped, the first kept.

Split: each sentence goes to ``train`` (80%), ``validation`` (5%), ``prompt`` (5%) or ``probe``
(10%) by the first 8 bytes of the SHA-256 of its lower-cased text, so the split does not depend on
the order of the files or on what else is in the corpus. ``prompt`` sentences give the English
world its prompts (their first words); ``probe`` sentences are its natural held-out text. Neither is
ever used for pretraining. :attr:`Corpus.fingerprint` is the SHA-256 of the cleaning version and
every split's sentences.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from scalarscope.errors import ConfigError

FORTUNES_DIR = Path("/usr/share/games/fortunes")
WORDNET_DIR = Path("/usr/share/wordnet")
SPLITS = (("train", 0.80), ("validation", 0.05), ("prompt", 0.05), ("probe", 0.10))
CLEANING_VERSION = "1"  # part of the fingerprint: bump when cleaning or splitting changes
MIN_WORDS, MAX_WORDS = 4, 20
_SKIP_FORTUNE_FILES = {"ascii-art", "art"}  # drawings, not sentences
_ALLOWED = re.compile(r"[A-Za-z0-9 .,;:!?'\"()$%&/-]+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Za-z\"'])")
_QUOTED = re.compile(r'"([^"]+)"')
_MISSING_HINT = ("install Debian's packages (sudo apt-get install fortunes wordnet-base, or `make system-deps`), "
                 "or give any UTF-8 text file or folder instead: --corpus PATH (load_corpus(path))")


@dataclass(frozen=True)
class Corpus:
    """Cleaned English sentences by split (``train``, ``validation``, ``prompt``, ``probe``)."""

    splits: dict[str, tuple[str, ...]]
    sources: tuple[str, ...]
    fingerprint: str = field(default="")

    def __post_init__(self) -> None:
        if not self.fingerprint:
            digest = hashlib.sha256(f"scalarscope-corpus-v{CLEANING_VERSION}".encode())
            for name, _ in SPLITS:
                digest.update(f"\n#{name}\n".encode())
                digest.update("\n".join(self.splits[name]).encode())
            object.__setattr__(self, "fingerprint", digest.hexdigest())

    @property
    def train(self) -> tuple[str, ...]:
        return self.splits["train"]

    @property
    def validation(self) -> tuple[str, ...]:
        return self.splits["validation"]

    @property
    def prompt(self) -> tuple[str, ...]:
        return self.splits["prompt"]

    @property
    def probe(self) -> tuple[str, ...]:
        return self.splits["probe"]

    def counts(self) -> dict[str, dict[str, int]]:
        """Sentences and words per split, and in total."""
        table = {name: {"sentences": len(s), "words": sum(len(x.split()) for x in s)} for name, s in self.splits.items()}
        table["total"] = {k: sum(v[k] for v in table.values()) for k in ("sentences", "words")}
        return table


def clean_sentence(text: str) -> str | None:
    """``text`` with whitespace collapsed, or None when it is not a sentence the corpus keeps."""
    text = " ".join(text.split())
    n_words = len(text.split())
    if not MIN_WORDS <= n_words <= MAX_WORDS or not _ALLOWED.fullmatch(text):
        return None
    letters = sum(c.isalpha() for c in text)
    if letters < 0.6 * len(text.replace(" ", "")) or not any(c.islower() for c in text):
        return None
    return text


def split_of(sentence: str) -> str:
    """The split a sentence belongs to, from the SHA-256 of its lower-cased text."""
    u = int.from_bytes(hashlib.sha256(sentence.lower().encode()).digest()[:8], "big") / 2**64
    edge = 0.0
    for name, share in SPLITS:
        edge += share
        if u < edge:
            return name
    return SPLITS[-1][0]


def sentences_of(entry: str) -> list[str]:
    """The sentences of one entry (a fortune, a paragraph): whitespace collapsed, then split."""
    return [s for s in _SENTENCE_END.split(" ".join(entry.split())) if s]


def build_corpus(entries, sources: tuple[str, ...] = ()) -> Corpus:
    """A :class:`Corpus` from an iterable of raw entries (each split into sentences and cleaned)."""
    seen: set[str] = set()
    splits: dict[str, list[str]] = {name: [] for name, _ in SPLITS}
    for entry in entries:
        for raw in sentences_of(entry):
            sentence = clean_sentence(raw)
            if sentence is None or sentence.lower() in seen:
                continue
            seen.add(sentence.lower())
            splits[split_of(sentence)].append(sentence)
    if not seen:
        raise ConfigError(f"no sentence of {', '.join(sources) or 'the text'} survives cleaning ({MIN_WORDS}-"
                          f"{MAX_WORDS} words of ASCII letters and common punctuation); give English prose, "
                          "one sentence or paragraph per line")
    return Corpus({k: tuple(v) for k, v in splits.items()}, tuple(sources))


def fortune_entries(folder: Path = FORTUNES_DIR) -> list[str]:
    """Every fortune of the plain fortune files in ``folder`` (not their ``.dat`` indexes)."""
    entries = []
    for path in sorted(folder.iterdir()):
        if path.suffix in (".dat", ".u8") or path.name in _SKIP_FORTUNE_FILES or not path.is_file():
            continue
        text = path.read_bytes().decode("utf-8", errors="replace")
        entries += [e for e in re.split(r"^%\s*$", text, flags=re.M) if not e.lstrip().startswith("--")]
    # attribution lines ("-- Mark Twain") end a fortune: drop them
    return [re.sub(r"^\s*--.*$", "", e, flags=re.M) for e in entries]


def wordnet_entries(folder: Path = WORDNET_DIR) -> list[str]:
    """The example sentences quoted in the glosses of WordNet's ``data.*`` files."""
    entries = []
    for name in ("data.noun", "data.verb", "data.adj", "data.adv"):
        for line in (folder / name).read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("  ") or "|" not in line:  # the licence header
                continue
            entries += [q if q[-1:] in ".!?" else q + "." for q in _QUOTED.findall(line.split("|", 1)[1])]
    return entries


def default_corpus() -> Corpus:
    """The corpus from Debian's ``fortunes`` and ``wordnet-base`` (both must be installed)."""
    missing = [pkg for pkg, probe in (("fortunes", FORTUNES_DIR / "fortunes"), ("wordnet-base",
                                      WORDNET_DIR / "data.noun")) if not probe.is_file()]
    if missing:
        raise ConfigError(f"the default English corpus needs Debian's {' and '.join(missing)} "
                          f"(missing {FORTUNES_DIR if 'fortunes' in missing else WORDNET_DIR}); {_MISSING_HINT}")
    return build_corpus(fortune_entries() + wordnet_entries(), (str(FORTUNES_DIR), str(WORDNET_DIR)))


def _read_text_file(path: Path) -> str:
    data = path.read_bytes()
    if not data.strip():
        raise ConfigError(f"corpus file {path} is empty; give a UTF-8 text file of English sentences")
    if b"\0" in data[:65536]:
        raise ConfigError(f"corpus file {path} is binary (it holds NUL bytes); give a UTF-8 text file of English "
                          "sentences")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"corpus file {path} is not UTF-8 text (byte {exc.start} is {data[exc.start]:#x}); "
                          "convert it (e.g. iconv -t UTF-8) or give another file") from None


def load_corpus(path: str | os.PathLike[str] | None = None) -> Corpus:
    """The default corpus (``path`` None), or the sentences of a UTF-8 text file or of every file
    (recursively, hidden ones skipped) in a folder."""
    if path is None:
        return default_corpus()
    root = Path(path).expanduser()
    if not root.exists():
        raise ConfigError(f"corpus {root} does not exist; give a UTF-8 text file or folder (--corpus PATH), or "
                          "leave it out to use Debian's fortunes and wordnet-base")
    files = [root] if root.is_file() else sorted(
        p for p in root.rglob("*") if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts))
    if not files:
        raise ConfigError(f"corpus folder {root} holds no files; give a UTF-8 text file or a folder of them")
    entries = []
    for file in files:
        entries += re.split(r"\n\s*\n|^%\s*$", _read_text_file(file), flags=re.M)
    return build_corpus(entries, tuple(str(f) for f in files))
