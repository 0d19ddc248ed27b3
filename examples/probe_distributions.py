"""Path A / B on random probes and on the policy's samples: rerun the Path overlaps, splice the section.

    python examples/probe_distributions.py          # overlaps 0 and 0.87 x 5 seeds x 300 cycles

``make results`` (``examples/path_a_vs_b.py``) writes the same section as part of the whole
document; this script reruns only the runs the section reads (the same seeds, cycles and probes as
the main sweep) and replaces the section in docs/RESULTS_AND_LIMITATIONS.md, leaving the rest as it
is. It first checks that its random-probe transfer and ceiling equal the document's appendix rows
for the same runs (the runs are deterministic), and prints the comparison.
"""

from __future__ import annotations

import argparse
import re
import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "RESULTS_AND_LIMITATIONS.md"
TITLE = "## Path A and Path B on two probe distributions"


def appendix_rows(document: str) -> dict[tuple[float, int], tuple[str, str]]:
    """(overlap, seed) -> (transfer, ceiling) as printed in the document's appendix."""
    rows = {}
    appendix = document[document.find("## Appendix: every run"):]
    for line in appendix.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) >= 6 and re.fullmatch(r"[0-9.]+", cells[0]) and cells[1].isdigit():
            rows[(float(cells[0]), int(cells[1]))] = (cells[4], cells[5])
    return rows


def splice(document: str, section: str, *, after: str = "## Path A and Path B, read from the data") -> str:
    from scalarscope.reports.results import replace_section

    return replace_section(document, TITLE, section, after=after)


def main(argv: list[str] | None = None) -> int:
    from scalarscope.reports.distributions import distributions_section
    from scalarscope.reports.results import PROBE_LIMITATION, write_results
    from scalarscope.sweeps import sweep

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--cycles", type=int, default=300)
    parser.add_argument("--jobs", type=int, default=None)
    parser.add_argument("--out", default=str(DOC))
    args = parser.parse_args(argv)
    from scalarscope.reports.provenance import code_version

    version = code_version()
    df = sweep(overlaps=(0.0, 0.87), seeds=args.seeds, cycles=args.cycles, holdout="rotate", n_jobs=args.jobs,
               transfer_probes=2000)
    csv = ROOT / "runs" / "probe_distributions.csv"
    csv.parent.mkdir(exist_ok=True)
    df.to_csv(csv, index=False)  # the runs behind the section, to re-render it without training again
    out = Path(args.out)
    document = out.read_text()
    printed = appendix_rows(document)
    same = 0
    for run in df.itertuples():
        ours = (f"{run.transfer:.3f}", f"{run.ceiling:.3f}")
        before = printed.get((run.overlap, run.seed))
        same += before == ours
        print(f"overlap {run.overlap:g} seed {run.seed}: transfer, ceiling {ours} (document's appendix: {before})")
    print(f"{same} of {len(df)} runs print the same random-probe transfer and ceiling as the document's appendix")
    stamp = (f"_This section: `python examples/probe_distributions.py` on {datetime.now(UTC):%Y-%m-%d %H:%M UTC} "
             f"from {version}; {same} of {len(df)} runs reproduce the appendix's random-probe transfer and ceiling "
             "to the printed digit. `make results` regenerates it with the whole document._")
    section = distributions_section(df, probes=2000).replace("\n\n", f"\n\n{stamp}\n\n", 1)
    document = re.sub(r"^- \*\*Probe distribution\.\*\*.*$", lambda _: f"- {PROBE_LIMITATION}", splice(document, section),
                      flags=re.MULTILINE)
    print(f"wrote {write_results(document, out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
