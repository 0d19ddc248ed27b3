"""A word-level vocabulary for students that write words (the real-judges world).

:func:`common_words` takes the most frequent English words that ``wordfreq`` ships (offline);
:func:`word_tokenizer_hf` builds a ``transformers`` fast tokenizer over them with the ``tokenizers``
library's ``WordLevel`` model: one token per word and per punctuation mark, text lower-cased,
decoding joining tokens with one space. Wrapped by
:class:`~scalarscope.student.hf_tokenizer.HFTokenizer` (as :func:`~scalarscope.student.hf.tiny_gpt2`
does), it follows the student's ``Tokenizer`` protocol: a word outside the vocabulary is refused by
name, and each token's character span includes the space before it.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from scalarscope.errors import ConfigError, check_scalar

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerFast

SPECIALS = ("<pad>", "<bos>", "<eos>")
PUNCTUATION = (".", ",", "!", "?", ":")
UNKNOWN = "<unk>"


def common_words(n_words: int = 2000, *, lang: str = "en") -> tuple[str, ...]:
    """The ``n_words`` most frequent all-letter words of ``lang`` in ``wordfreq``'s lists (offline)."""
    check_scalar(n_words, "n_words", kind=int, min_value=10, hint="Ask for at least 10 words.")
    try:
        from wordfreq import iter_wordlist
    except ImportError as exc:
        raise ImportError("the word vocabulary needs wordfreq: pip install 'scalarscope[judges]'") from exc
    words: list[str] = []
    for word in iter_wordlist(lang):
        if re.fullmatch(r"[a-z]+", word):
            words.append(word)
            if len(words) == n_words:
                break
    return tuple(words)


def word_tokenizer_hf(words: tuple[str, ...] | None = None, *, n_words: int = 2000, extra_words: tuple[str, ...] = ()
                      ) -> PreTrainedTokenizerFast:
    """A ``transformers`` fast tokenizer with one token per word of ``words`` (default: the
    ``n_words`` most common English words), then each of ``extra_words`` not among them, then the
    punctuation marks. Ids: ``<pad>`` 0, ``<bos>`` 1, ``<eos>`` 2, the words, the punctuation,
    ``<unk>`` last; built in memory, nothing downloaded."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    words = common_words(n_words) if words is None else tuple(words)
    words = words + tuple(dict.fromkeys(w for w in extra_words if w not in set(words)))
    bad = [w for w in words if not isinstance(w, str) or not re.fullmatch(r"[a-z]+", w)]
    if not words or bad or len(set(words)) != len(words):
        raise ConfigError(f"words must be distinct lower-case letter strings; got {len(words)} words, bad ones: "
                          f"{bad[:5]!r}. Leave words=None for the most common English words.")
    vocab = {token: i for i, token in enumerate(SPECIALS + words + PUNCTUATION + (UNKNOWN,))}
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token=UNKNOWN))
    core.normalizer = normalizers.Lowercase()
    core.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Whitespace(), pre_tokenizers.Punctuation()])
    return PreTrainedTokenizerFast(tokenizer_object=core, pad_token=SPECIALS[0], bos_token=SPECIALS[1],
                                   eos_token=SPECIALS[2], unk_token=UNKNOWN)
