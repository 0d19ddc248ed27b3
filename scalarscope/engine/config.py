"""Engine configuration."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

from scalarscope.errors import ConfigError, check_scalar

DEFAULT_PROMPTS = (
    "rate this answer:",
    "explain the result.",
    "is the claim correct?",
    "summarise the argument.",
    "what would you change?",
    "give a short verdict:",
    "list the tradeoffs.",
    "how sure are you?",
)


SIZE_LIMITS = {"batch_size": 4096, "probe_batch": 4096, "state_probe_size": 4096, "max_new_tokens": 4096,
               "probe_length": 4096, "prompts_per_cycle": 1024, "transfer_probes": 200_000, "transfer_every": 10**6,
               "kl_coef": 1000.0}


@dataclass(frozen=True, kw_only=True)
class EngineConfig:
    """How one cycle is run. All sizes are per cycle.

    batch_size: responses generated per cycle, split evenly over the cycle's prompts.
    prompts_per_cycle: prompts ``step()`` takes from the prompt source.
    max_new_tokens: longest response, in characters.
    probe_batch / probe_length: off-policy random responses per cycle on which the scalar head
        is also trained, so it learns beyond the region the policy collapses into.
    state_probe_size: fixed random responses whose predicted scores form the geometry state.
    transfer_every: measure holdout transfer every this many cycles (0: never automatically).
    transfer_probes: probe responses of the automatic measurement: one fixed set, so successive
        points differ only by what was learned (tests/test_internalization.py checks that 256 agree
        with 2,000 fresh probes within 0.03 at overlap 0.87; final figures use
        ``engine.holdout_transfer(2000)``).
    torch_threads: threads torch may use while a cycle runs (restored afterwards). One is fastest
        for the default student, whose ops are too small to split, and it never stalls when other
        work shares the cores; None leaves torch's own setting.
    kl_coef: weight of the per-token KL penalty to the reference policy (0: KL measured, not
        penalised; see :mod:`scalarscope.engine.kl`). The default 0 is measured
        (``examples/kl_coef_scan.py``, 3 seeds x 300 cycles, overlaps 0 and 0.87): up to 0.1 the
        default world's numbers do not move (the policy still collapses, entropy 0.003-0.03); from
        0.3 on the penalty keeps the entropy (3.1 nats at 0.3, 3.6 at 0.5, 3.8 at 1) but costs score
        (at overlap 0.87: 0.999 at 0, 0.978 at 0.3, 0.883 at 0.5, 0.716 at 1); holdout transfer does
        not change at any value (0.903-0.905), and revisions after cycle 50 stay at 0 up to 0.3
        (0.003 at 0.5, 0.025 at 1). No value buys the default world anything it measures.
    conscience_learns: under ``reward_source="conscience"``, whether the scalar head keeps learning
        from the evaluators (default: frozen; see :mod:`scalarscope.engine.steering`).
    reset_optimizer_on_switch: clear Adam's moments when ``reward_source`` switches to
        ``"conscience"`` (default), so no momentum built from the evaluators' gradients reaches a
        conscience-only update. False keeps them (the earlier behaviour), for the ablation only: at
        overlap 0.87 the carried momentum was about 5x the first conscience gradient and still ~10 %
        after 22 cycles (issue 17); docs/RESULTS_AND_LIMITATIONS.md reports both.
    concurrent_judges: score the responses on a worker thread while the student runs its
        teacher-forced pass (only the loss needs the scores), so a cycle costs about max(judges,
        student) rather than their sum (``benchmarks/bench_judges.py``). The numbers are the same
        either way; False scores first, on the calling thread.

    Limits (:data:`SIZE_LIMITS`, checked here and so on every checkpoint load): batch_size,
    probe_batch and state_probe_size at most 4,096 responses; max_new_tokens and probe_length at most
    4,096 tokens; prompts_per_cycle at most 1,024; transfer_probes at most 200,000; transfer_every at
    most 10**6; torch_threads at most the machine's cores; kl_coef at most 1000 (the penalty would
    overflow the loss and every update would be skipped). Beyond them one cycle's arrays alone take
    gigabytes (or the thread pool aborts the process); the limits are far above anything the kit's
    worlds use. probe_batch is at least 1: the scalar head always sees some off-policy responses.
    """

    batch_size: int = 32
    prompts_per_cycle: int = 4
    max_new_tokens: int = 16
    temperature: float = 1.0
    learning_rate: float = 3e-3
    head_weight: float = 1.0
    entropy_weight: float = 0.01
    grad_clip: float = 1.0
    probe_batch: int = 8
    probe_length: int = 16
    state_probe_size: int = 16
    transfer_every: int = 25
    transfer_probes: int = 256
    torch_threads: int | None = 1
    kl_coef: float = 0.0
    conscience_learns: bool = False
    reset_optimizer_on_switch: bool = True
    concurrent_judges: bool = True

    def __post_init__(self) -> None:
        for name in ("batch_size", "prompts_per_cycle", "max_new_tokens", "probe_length", "state_probe_size",
                     "probe_batch"):
            check_scalar(getattr(self, name), name, kind=int, min_value=1, max_value=SIZE_LIMITS[name])
        check_scalar(self.transfer_every, "transfer_every", kind=int, min_value=0, max_value=SIZE_LIMITS["transfer_every"])
        check_scalar(self.transfer_probes, "transfer_probes", kind=int, min_value=3,
                     max_value=SIZE_LIMITS["transfer_probes"])
        if self.torch_threads is not None:
            cores = os.cpu_count() or 1
            check_scalar(self.torch_threads, "torch_threads", kind=int, min_value=1, max_value=cores,
                         hint=f"This machine has {cores} core(s); use None for torch's default.")
        check_scalar(self.temperature, "temperature", min_value=0.0, include_min=False,
                     hint="Use 1.0 to sample from the policy as it is.")
        check_scalar(self.learning_rate, "learning_rate", min_value=0.0, include_min=False)
        for name in ("head_weight", "entropy_weight", "grad_clip"):
            check_scalar(getattr(self, name), name, min_value=0.0)
        check_scalar(self.kl_coef, "kl_coef", min_value=0.0, max_value=SIZE_LIMITS["kl_coef"],
                     hint="Use 0 to measure KL without penalising it; beyond 1000 the penalty overflows the loss "
                          "and every update is skipped (1 already keeps the policy near its reference).")
        for name in ("conscience_learns", "reset_optimizer_on_switch", "concurrent_judges"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"{name} must be True or False, got {getattr(self, name)!r}")

    def replace(self, **changes) -> EngineConfig:
        return replace(self, **changes)
