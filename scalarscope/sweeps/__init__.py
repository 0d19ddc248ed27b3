"""Sweeps over overlap x seed: does holdout transfer follow the evaluators' shared structure?

``scalarscope.sweep(...)`` is :func:`scalarscope.sweeps.sweep` (the package is named ``sweeps``
so that the name ``scalarscope.sweep`` is the function, never a module shadowing it; keep it so:
no module named ``sweep`` may live in this package either).

>>> df = scalarscope.sweep(overlaps=[0, 0.87], seeds=5, cycles=300, holdout="rotate", n_jobs=2)
>>> summarize_sweep(df)          # per-overlap mean / std of transfer, ceiling, ratio, correlation
>>> path_verdicts(df)            # Path A, Path B, monotonic: computed from the rows
"""

from scalarscope.sweeps.executor import run_specs
from scalarscope.sweeps.revision_study import compare_targeting, targeting_table
from scalarscope.sweeps.runner import sweep
from scalarscope.sweeps.spec import ROTATE, RunSpec, plan_runs
from scalarscope.sweeps.summary import PathVerdict, path_verdicts, summarize_sweep
from scalarscope.sweeps.worker import COLUMNS, run_one

__all__ = ["COLUMNS", "ROTATE", "PathVerdict", "RunSpec", "compare_targeting", "path_verdicts", "plan_runs",
           "run_one", "run_specs", "summarize_sweep", "sweep", "targeting_table"]
