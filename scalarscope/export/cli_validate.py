"""`scalarscope validate FILE...`: print every contract violation; exit 1 if any, else 0."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from scalarscope.errors import GeometryFileNotFoundError
from scalarscope.export.validate import validate_geometry

MAX_PRINTED = 50  # violations printed per file; the rest are counted ("and N more")


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    """Add the validate arguments to ``parser`` (a subcommand parser of the main CLI) or a new one."""
    parser = parser or argparse.ArgumentParser(prog="scalarscope validate", description=__doc__)
    parser.add_argument("files", nargs="+", metavar="FILE", help="geometry JSON file(s) to check")
    parser.add_argument("--hard-only", action="store_true",
                        help="check only the rules whose violation makes the viewer reject the file")  # fmt: skip
    return parser


def add_validate(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Register ``scalarscope validate`` on the main CLI's subparser (sets ``handler``)."""
    build_parser(parser)
    parser.set_defaults(handler=lambda args: run_validate(args.files, hard_only=args.hard_only))
    return parser


def run_validate(files: Sequence[str], *, hard_only: bool = False) -> int:
    """Validate each file, print findings, return the exit status (0 all ok, 1 otherwise)."""
    status = 0
    for name in files:
        try:
            violations = validate_geometry(name, strict=not hard_only)
        except GeometryFileNotFoundError as error:
            print(error)
            status = 1
            continue
        for violation in violations[:MAX_PRINTED]:
            print(f"{name}: {violation}")
        if len(violations) > MAX_PRINTED:
            print(f"{name}: ... and {len(violations) - MAX_PRINTED:,} more violation(s)")
        if violations:
            status = 1
        else:
            print(f"{name}: ok")
    return status


def main_validate(argv: Sequence[str] | None = None) -> int:
    """Entry point: ``main_validate(["run.json"])`` returns the exit status."""
    args = build_parser().parse_args(argv)
    return run_validate(args.files, hard_only=args.hard_only)


if __name__ == "__main__":
    raise SystemExit(main_validate())
