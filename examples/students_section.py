"""The GRU and the tiny GPT-2 on Path A / B: rerun their runs, splice the section into the results.

    python examples/students_section.py      # overlaps 0 and 0.87: GRU x 5 seeds, GPT-2 x 3, 300 cycles

``make results`` (``examples/path_a_vs_b.py``) writes the same section as part of the whole
document; this script reruns only the runs the section reads (the same seeds, cycles and probes
as the main sweep, which are deterministic) and replaces the section in
docs/RESULTS_AND_LIMITATIONS.md, leaving the rest as it is.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "RESULTS_AND_LIMITATIONS.md"
TITLE = "## The same question with a transformer student"


def splice(document: str, section: str) -> str:
    """``document`` with its section titled ``TITLE`` replaced by ``section``."""
    if TITLE not in document:
        raise SystemExit(f"{TITLE!r} is not in the document: run examples/path_a_vs_b.py for the whole of it")
    from scalarscope.reports.results import replace_section

    return replace_section(document, TITLE, section)


def main(argv: list[str] | None = None) -> int:
    from scalarscope.reports.results import write_results
    from scalarscope.sweeps import sweep
    from scalarscope.sweeps.students import PATH_OVERLAPS, student_sweep, students_markdown

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=300)
    parser.add_argument("--jobs", type=int, default=None)
    parser.add_argument("--out", default=str(DOC))
    args = parser.parse_args(argv)
    from scalarscope.reports.provenance import code_version

    version = code_version()
    gru = sweep(overlaps=PATH_OVERLAPS, seeds=5, cycles=args.cycles, holdout="rotate", n_jobs=args.jobs,
                transfer_probes=2000)
    gpt2 = student_sweep("tiny-gpt2", seeds=3, cycles=args.cycles, transfer_probes=2000, n_jobs=args.jobs)
    command = "python examples/students_section.py"
    section = students_markdown({"gru": gru, "tiny-gpt2": gpt2}, cycles=args.cycles, probes=2000, command=command)
    section = section.replace("GRU rows from the main sweep above", "GRU rows from the same script (the main "
                              "sweep's runs at these overlaps, rerun: they are deterministic)")
    stamp = (f"_This section: `{command}` on {datetime.now(UTC):%Y-%m-%d %H:%M UTC} from {version}; "
             "`make results` regenerates it with the whole document._")
    section = section.replace("\n\n", f"\n\n{stamp}\n\n", 1)
    for run in gru.itertuples():
        print(f"gru overlap {run.overlap:g} seed {run.seed}: transfer {run.transfer:.3f}, ceiling {run.ceiling:.3f}")
    out = Path(args.out)
    print(f"wrote {write_results(splice(out.read_text(), section), out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
