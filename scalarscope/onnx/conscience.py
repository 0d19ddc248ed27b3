"""The conscience: an exported student's internal evaluator, run by onnxruntime alone.

No torch, no evaluators: :class:`OnnxConscience` reads ``<bos> prompt response`` through the exported
graph and turns the scalar head's token values over the *response* positions into one predicted
score per training evaluator, ``sigmoid(sum_t values[t, i])`` — exactly what
``scalarscope.evaluators.scalar_head.predicted_scores`` computes in torch. It also decodes
incrementally (one graph call per new token, the GRU state carried between calls) and judges
what it wrote.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import numpy as np

from scalarscope._numeric import frozen_array, sigmoid
from scalarscope.charset import BOS, EOS, PAD, CharTokenizer
from scalarscope.errors import ConfigError, check_scalar
from scalarscope.onnx.errors import OnnxModelError, OnnxModelNotFoundError

FORMAT = "scalarscope-onnx-1"
INPUTS = ("tokens", "state")  # int64 [batch, seq]; float32 [1, batch, width] (zeros: fresh sequence)
OUTPUTS = ("logits", "values", "state_out")  # [batch, seq, V]; [batch, seq, H]; [1, batch, width]
_EXPORT_HINT = "export one with engine.export_onnx(path) or `scalarscope export-onnx CHECKPOINT OUT.onnx`"




@dataclass(frozen=True)
class ConscienceScore:
    """The internal evaluator's verdict on one response.

    scores: predicted score in [0, 1] of each training evaluator, by name.
    aggregate: mean of ``scores`` (the internal evaluator's overall judgment), in [0, 1].
    token_values: [T, H] read-only float64, each response character's contribution to each
        evaluator's logit (``scores[i] == sigmoid(token_values[:, i].sum())``).
    """

    scores: Mapping[str, float]
    aggregate: float
    token_values: np.ndarray = field(repr=False)

    @classmethod
    def from_values(cls, names: Sequence[str], token_values: np.ndarray) -> ConscienceScore:
        values = frozen_array(np.asarray(token_values).reshape(-1, len(names)))
        predicted = sigmoid(values.sum(axis=0))
        scores = MappingProxyType({name: float(p) for name, p in zip(names, predicted, strict=True)})
        return cls(scores, float(predicted.mean()), values)


@dataclass(frozen=True)
class Generated:
    """A sampled response and the conscience's judgment of it.

    tokens: [T] read-only int64 ids of the response (an EOS that ended it is not included).
    stopped: ``"eos"`` if the model ended the response, ``"length"`` if ``max_new_tokens`` did.
    assessment: the score of ``text`` after ``prompt``, from the values computed while decoding.
    """

    prompt: str
    text: str
    tokens: np.ndarray = field(repr=False)
    stopped: str
    assessment: ConscienceScore


class OnnxConscience:
    """An exported student with its internal evaluator, loaded with onnxruntime only.

    path: a file written by :func:`scalarscope.onnx.export_onnx`.
    threads: onnxruntime intra-op threads, 1 to the number of cores (None: onnxruntime's default).
    """

    def __init__(self, path, *, threads: int | None = None):
        self.path = Path(path)
        if self.path.is_dir():
            raise OnnxModelError(f"ONNX model {str(self.path)!r} is a directory; give the .onnx file in it "
                                 f"(e.g. {str(self.path / 'student.onnx')!r}); {_EXPORT_HINT}")
        if not self.path.exists():
            raise OnnxModelNotFoundError(f"ONNX model {str(self.path)!r} does not exist; {_EXPORT_HINT}")
        if not self.path.is_file():
            raise OnnxModelError(f"ONNX model {str(self.path)!r} is not a regular file; {_EXPORT_HINT}")
        if threads is not None:
            cores = os.cpu_count() or 1
            check_scalar(threads, "threads", kind=int, min_value=1, max_value=cores,
                         hint=f"This machine has {cores} core(s); more threads only slow onnxruntime down.")
        try:
            import onnxruntime as ort
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError("OnnxConscience needs onnxruntime: pip install 'scalarscope[onnx]'") from exc
        options = ort.SessionOptions()
        options.log_severity_level = 3  # errors only: shape-inference chatter is not the user's problem
        if threads is not None:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        try:
            self._session = ort.InferenceSession(str(self.path), sess_options=options,
                                                 providers=["CPUExecutionProvider"])
        except Exception as exc:
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            raise OnnxModelError(
                f"{str(self.path)!r} could not be loaded by onnxruntime ({type(exc).__name__}: {first_line[:200]}); "
                f"it is corrupt or not an ONNX model; {_EXPORT_HINT}") from exc
        self._read_metadata()

    # -- metadata ------------------------------------------------------------------------
    def _read_metadata(self) -> None:
        where = repr(str(self.path))
        meta = self._session.get_modelmeta().custom_metadata_map
        if meta.get("scalarscope_format") != FORMAT:
            found = meta.get("scalarscope_format")
            raise OnnxModelError(
                f"{where} is not a ScalarScope conscience (metadata scalarscope_format={found!r}, "
                f"expected {FORMAT!r}); {_EXPORT_HINT}")
        inputs = [i.name for i in self._session.get_inputs()]
        outputs = [o.name for o in self._session.get_outputs()]
        if "values" not in outputs:
            raise OnnxModelError(
                f"{where} was exported without the internal evaluator (no 'values' output, outputs {outputs}); "
                "re-export with export_onnx(engine, path, include_head=True)")
        if inputs != list(INPUTS) or outputs != list(OUTPUTS):
            raise OnnxModelError(f"{where} has inputs {inputs} and outputs {outputs}; expected {list(INPUTS)} "
                                 f"and {list(OUTPUTS)}; {_EXPORT_HINT}")
        try:
            self.names: tuple[str, ...] = tuple(json.loads(meta["evaluators"]))
            self.holdout: str | None = json.loads(meta["holdout"])
            self.width = int(meta["width"])
            self.cycle = int(meta["cycle"])
            self._codec = CharTokenizer(alphabet=meta["alphabet"])
        except (KeyError, ValueError, TypeError, RecursionError) as exc:
            shown = "nested too deeply" if isinstance(exc, RecursionError) else f"{type(exc).__name__}: {exc}"
            raise OnnxModelError(f"{where} has missing or malformed metadata ({shown[:200]}); "
                                 f"{_EXPORT_HINT}") from None
        if not self.names:
            raise OnnxModelError(f"{where} names no training evaluators (metadata evaluators={self.names!r}); "
                                 "re-export with include_head=True")
        if not all(isinstance(n, str) for n in self.names):
            raise OnnxModelError(f"{where}: metadata evaluators={list(self.names)!r:.80} must be evaluator names "
                                 f"(strings); {_EXPORT_HINT}")
        if self.holdout is not None and not isinstance(self.holdout, str):
            raise OnnxModelError(f"{where}: metadata holdout must be an evaluator name or null, got "
                                 f"{type(self.holdout).__name__}; {_EXPORT_HINT}")
        state_width = self._session.get_inputs()[1].shape[-1]
        if self.width < 1 or (isinstance(state_width, int) and state_width != self.width):
            raise OnnxModelError(f"{where}: metadata width={self.width} does not match the graph's state width "
                                 f"{state_width}; {_EXPORT_HINT}")
        heads = self._session.get_outputs()[1].shape[-1]
        if isinstance(heads, int) and heads != len(self.names):
            raise OnnxModelError(f"{where} has {heads} head outputs but names {len(self.names)} evaluators")

    @property
    def alphabet(self) -> str:
        return self._codec.alphabet

    def __repr__(self) -> str:
        return f"OnnxConscience({str(self.path)!r}, evaluators={list(self.names)}, holdout={self.holdout!r})"

    # -- the graph -----------------------------------------------------------------------
    def run(self, tokens: np.ndarray, state: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One graph call: tokens int64 [B, S], state float32 [1, B, W] (None: zeros).

        Returns (logits [B, S, V], values [B, S, H], state_out [1, B, W]); position t of logits and
        values is read from the hidden state after token t.
        """
        tokens = np.ascontiguousarray(tokens, dtype=np.int64)
        if state is None:
            state = np.zeros((1, tokens.shape[0], self.width), dtype=np.float32)
        return self._session.run(None, {"tokens": tokens, "state": np.ascontiguousarray(state, np.float32)})

    # -- scoring -------------------------------------------------------------------------
    def score(self, prompt: str, response: str) -> ConscienceScore:
        """Predicted score of ``response`` after ``prompt`` per training evaluator, and their mean."""
        return ConscienceScore.from_values(self.names, self.token_values([prompt], [response])[0])

    def score_batch(self, prompts: Sequence[str], responses: Sequence[str], *, batch_size: int = 256) -> np.ndarray:
        """Predicted scores [N, H] (columns in ``self.names`` order) of N (prompt, response) pairs."""
        sums = np.stack([v.sum(axis=0) for v in self.token_values(prompts, responses, batch_size=batch_size)])
        return sigmoid(sums)

    def token_values(self, prompts: Sequence[str], responses: Sequence[str], *,
                     batch_size: int = 256) -> list[np.ndarray]:
        """Token values, one float64 array [len(response_i), H] per pair.

        Rows are sorted by length and run in chunks of ``batch_size``, padded on the right: the
        model is causal, so padding after a row's end cannot change that row's values.
        """
        if isinstance(prompts, str) or isinstance(responses, str) or len(prompts) != len(responses):
            raise ConfigError("prompts and responses must be sequences of strings of the same length; "
                              "use score(prompt, response) for a single pair")
        check_scalar(batch_size, "batch_size", kind=int, min_value=1)
        encoded = [(self._codec.encode(p, what="prompt"), self._codec.encode(r, what="response"))
                   for p, r in zip(prompts, responses, strict=True)]
        starts = np.array([1 + len(p) for p, _ in encoded], dtype=np.int64)
        ends = starts + np.array([len(r) for _, r in encoded], dtype=np.int64)
        out: list[np.ndarray] = [np.zeros((0, len(self.names)))] * len(encoded)
        order = np.argsort(ends, kind="stable")
        for first in range(0, len(order), batch_size):
            rows = order[first:first + batch_size]
            ids = np.full((len(rows), int(ends[rows].max())), PAD, dtype=np.int64)
            for b, row in enumerate(rows):
                prompt_ids, response_ids = encoded[row]
                ids[b, 0] = BOS
                ids[b, 1:ends[row]] = np.concatenate([prompt_ids, response_ids])
            _, values, _ = self.run(ids)
            for b, row in enumerate(rows):
                out[row] = values[b, starts[row]:ends[row]].astype(np.float64)
        return out

    # -- generation ----------------------------------------------------------------------
    def generate(self, prompt: str, max_new_tokens: int = 32, temperature: float = 1.0,
                 seed: int | None = None) -> Generated:
        """Sample a response to ``prompt`` one token at a time, carrying the GRU state.

        temperature 0 is greedy (argmax); otherwise tokens are drawn from softmax(logits / T) with
        ``numpy.random.default_rng(seed)``. PAD and BOS are never drawn (they are not text).
        The response's self-assessment comes from the values computed while decoding.
        """
        check_scalar(max_new_tokens, "max_new_tokens", kind=int, min_value=0)
        check_scalar(temperature, "temperature", min_value=0.0, hint="Use 0 for greedy decoding, 1 to sample.")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int | np.integer)):
            raise ConfigError(f"seed must be an int or None, got {seed!r}")
        if seed is not None and seed < 0:
            raise ConfigError(f"seed must be >= 0 or None, got {seed}; e.g. seed={-seed}")
        rng = np.random.default_rng(seed)
        prompt_ids = self._codec.encode(prompt, what="prompt")
        logits, _, state = self.run(np.concatenate([[BOS], prompt_ids])[None])
        step_logits = logits[0, -1]
        tokens: list[int] = []
        values: list[np.ndarray] = []
        stopped = "length"
        for _ in range(max_new_tokens):
            token = _pick(step_logits, temperature, rng)
            if token == EOS:
                stopped = "eos"
                break
            tokens.append(token)
            logits, step_values, state = self.run(np.array([[token]]), state)
            step_logits = logits[0, 0]
            values.append(step_values[0, 0])
        token_array = np.array(tokens, dtype=np.int64)
        token_array.setflags(write=False)
        assessment = ConscienceScore.from_values(self.names, np.array(values).reshape(-1, len(self.names)))
        return Generated(prompt, self._codec.decode(token_array), token_array, stopped, assessment)


def _pick(logits: np.ndarray, temperature: float, rng: np.random.Generator) -> int:
    """Next token from one step's logits [V]: argmax at temperature 0, else Gumbel-max sampling."""
    scaled = logits.astype(np.float64)
    scaled[[PAD, BOS]] = -np.inf
    if temperature == 0:
        return int(np.argmax(scaled))
    uniform = np.clip(rng.random(scaled.shape), 1e-12, 1.0 - 1e-12)
    return int(np.argmax(scaled / temperature - np.log(-np.log(uniform))))
