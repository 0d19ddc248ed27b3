"""Export a run for ScalarScope-Desktop, check it against the contract, and read it back.

    python examples/geometry_export_demo.py                          # 300 cycles -> runs/geometry_demo.json
    python examples/geometry_export_demo.py --cycles 20 --out /tmp/g.json
"""

from __future__ import annotations

import argparse

from scalarscope import train_default_world
from scalarscope.export import load_geometry, validate_geometry


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=300, help="training cycles (default 300)")
    parser.add_argument("--overlap", type=float, default=0.87, help="evaluator overlap rho in [0, 1]")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs/geometry_demo.json", help="the geometry file to write")
    args = parser.parse_args(argv)

    engine = train_default_world(overlap=args.overlap, cycles=args.cycles, seed=args.seed, holdout="clarity")
    path = engine.export_geometry(args.out, condition=f"overlap {args.overlap:.2f}")
    violations = validate_geometry(path)
    for violation in violations:
        print(f"contract violation: {violation}")
    print(f"wrote {path}: {'valid' if not violations else f'{len(violations)} violation(s)'}")

    geometry = load_geometry(path)  # the same objects the notebooks plot
    meta = geometry.metadata
    print(f"run {meta.run_id}: {meta.condition}, {meta.cycles} cycles, holdout {meta.holdout_professor}, "
          f"conscience {meta.conscience_tier}")
    print(geometry.to_frame().tail().round(3).to_string())
    for professor in geometry.professors:
        print(f"  {professor.name:<12} vector {[round(float(v), 3) for v in professor.vector[:2]]}"
              f"{'  (held out)' if professor.holdout else ''}")
    return 1 if violations else 0


if __name__ == "__main__":
    raise SystemExit(main())
