"""Conscience-only training against gold: run the studies, write their section of the results document.

    python examples/goodhart_results.py            # 2 overlaps x 5 seeds, two KL settings, warmup and
                                                   # context studies (minutes on 2 cores)
    python examples/goodhart_results.py --quick    # a small run, written to runs/ (not to docs/)

The section ("Judgment without the judges") replaces the one already in the document, or goes
before "## Limitations"; the rest of the document is left as it is. ``examples/path_a_vs_b.py``
can produce the same section through ``goodhart_section`` in its ``extra_sections``.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from scalarscope.reports.goodhart import TITLE, goodhart_section
from scalarscope.reports.provenance import from_version
from scalarscope.reports.results import replace_section, write_results

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "RESULTS_AND_LIMITATIONS.md"


def splice(document: str, section: str, *, before: str = "## Limitations") -> str:
    """``document`` with its section titled ``TITLE`` replaced by ``section`` (or ``section`` inserted
    before the heading ``before``, or appended)."""
    return replace_section(document, TITLE, section, before=before)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small studies, written under runs/")
    parser.add_argument("--jobs", type=int, default=None, help="local worker processes (default: all cores)")
    parser.add_argument("--seeds", type=int, default=None, help="seeds of the main studies (default 5; quick: 2)")
    parser.add_argument("--main-only", action="store_true",
                        help="skip the warmup and context side studies (a shorter run; the section says so)")
    parser.add_argument("--ablation-kl", default="0,0.3",
                        help="KL settings of the optimiser-reset ablation, comma-separated (default 0,0.3)")
    parser.add_argument("--out", default=None, help="markdown to update (default docs/RESULTS_AND_LIMITATIONS.md)")
    args = parser.parse_args(argv)
    out = Path(args.out) if args.out else (ROOT / "runs" / "goodhart.quick.md" if args.quick else DOC)
    version = from_version()  # read before the runs: the workers import the library as it is now
    ablation_kl = tuple(float(v) for v in args.ablation_kl.split(",") if v.strip())
    section = goodhart_section(quick=args.quick, n_jobs=args.jobs, seeds=args.seeds,
                               side_studies=not args.main_only, ablation_kl=ablation_kl)
    given = "".join(f" {a}" for a in (sys.argv[1:] if argv is None else argv))
    stamp = (f"_This section: `python examples/goodhart_results.py{given}` on "
             f"{datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}{version}; rerun the script, do not edit._")
    section = section.replace("\n\n", f"\n\n{stamp}\n\n", 1)
    document = out.read_text() if out.exists() else ""
    print(f"wrote {write_results(splice(document, section), out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
