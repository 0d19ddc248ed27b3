"""Does the exported conscience judge like the torch student it came from? (torch side)

On fresh probe responses drawn exactly as :func:`scalarscope.engine.transfer.measure_transfer`
draws them, compare the ONNX internal evaluator and the torch one against the true evaluators:
per-head correlation with the evaluator it was trained on, the aggregate's correlation with the
training evaluators' aggregate (fidelity) and with the held-out evaluator (transfer).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from scalarscope._numeric import frozen_array
from scalarscope.evaluators.base import score_responses
from scalarscope.evaluators.scalar_head import predicted_scores, safe_corr
from scalarscope.onnx.conscience import OnnxConscience
from scalarscope.onnx.errors import OnnxModelError


@dataclass(frozen=True)
class OnnxAgreement:
    """ONNX vs torch internal evaluator on ``n`` fresh probes (correlations are Pearson's r).

    names: the training evaluators, in head order; holdout: the held-out evaluator or None.
    torch_correlation / onnx_correlation: [H] head i's predictions vs evaluator i's true scores.
    torch_fidelity / onnx_fidelity: aggregate prediction vs the training evaluators' mean score.
    torch_transfer / onnx_transfer: aggregate prediction vs the held-out evaluator (0.0 if none).
    max_score_difference: largest |ONNX - torch| predicted score over probes and heads.
    """

    names: tuple[str, ...]
    holdout: str | None
    n: int
    torch_correlation: np.ndarray
    onnx_correlation: np.ndarray
    torch_fidelity: float
    onnx_fidelity: float
    torch_transfer: float
    onnx_transfer: float
    max_score_difference: float

    def table(self) -> str:
        """A small plain-text report."""
        lines = [f"{'evaluator':<14}{'torch r':>10}{'onnx r':>10}"]
        for name, t, o in zip(self.names, self.torch_correlation, self.onnx_correlation, strict=True):
            lines.append(f"{name:<14}{t:>10.4f}{o:>10.4f}")
        lines.append(f"{'fidelity':<14}{self.torch_fidelity:>10.4f}{self.onnx_fidelity:>10.4f}")
        if self.holdout is not None:
            lines.append(f"{'transfer':<14}{self.torch_transfer:>10.4f}{self.onnx_transfer:>10.4f}"
                         f"   (holdout {self.holdout})")
        lines.append(f"max |onnx - torch| score: {self.max_score_difference:.2e} over n={self.n} probes")
        return "\n".join(lines)


def compare_with_engine(engine, conscience, *, n: int = 1000, seed: int = 0) -> OnnxAgreement:
    """Compare ``conscience`` (a :class:`OnnxConscience` or a path) with ``engine``'s torch student.

    The probes are those of ``engine.holdout_transfer(n, seed=seed)``, so ``torch_transfer`` equals
    that measurement's ``transfer`` and ``onnx_transfer`` can be read against it.
    """
    if not isinstance(conscience, OnnxConscience):
        conscience = OnnxConscience(conscience)
    if conscience.names != tuple(engine.train_names):
        raise OnnxModelError(f"{conscience!r} predicts {list(conscience.names)} but the engine trains on "
                             f"{list(engine.train_names)}; export this engine with engine.export_onnx(path)")
    tok = engine.tokenizer
    rng = np.random.default_rng([abs(seed), 4])  # the draw of measure_transfer(engine, n=n, seed=seed)
    ids = tok.sample_probes(n, engine.config.probe_length, rng)
    prompt_index = rng.integers(len(engine.prompts), size=n)
    lengths = np.full(n, ids.shape[1])
    prompts = [engine.prompts[i] for i in prompt_index]
    responses = tok.decode_batch(ids, lengths)
    prompt_ids = [tok.encode(p) for p in engine.prompts]

    torch_pred = predicted_scores(engine.model.predict_values(prompt_ids, prompt_index, ids), lengths)
    onnx_pred = conscience.score_batch(prompts, responses)
    table = score_responses(engine.evaluators, prompts, responses, prompt_ids=[prompt_ids[i] for i in prompt_index],
                            response_ids=ids, lengths=lengths, tokenizer=tok)
    ok = table.valid.all(1)
    all_names = [e.name for e in engine.evaluators]
    truth = table.sequence[ok][:, [all_names.index(name) for name in engine.train_names]]
    held = table.sequence[ok][:, all_names.index(engine.holdout)] if engine.holdout is not None else None

    def judge(pred: np.ndarray) -> tuple[np.ndarray, float, float]:
        pred = pred[ok]
        per_head = frozen_array([safe_corr(pred[:, i], truth[:, i]) for i in range(truth.shape[1])])
        aggregate = pred.mean(1)
        transfer = safe_corr(aggregate, held, what="onnx transfer") if held is not None else math.nan
        return per_head, safe_corr(aggregate, truth.mean(1)), transfer

    t_corr, t_fid, t_transfer = judge(torch_pred)
    o_corr, o_fid, o_transfer = judge(onnx_pred)
    return OnnxAgreement(tuple(engine.train_names), engine.holdout, int(ok.sum()), t_corr, o_corr, t_fid, o_fid,
                         t_transfer, o_transfer, float(np.abs(onnx_pred - torch_pred).max()))
