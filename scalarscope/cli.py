"""The ``scalarscope`` command line: ``python -m scalarscope --help``.

Each subcommand lives beside the code it drives and registers itself through ``_SUBCOMMANDS``
(module path, function that adds its parser); a subcommand's module is imported only when run.
"""

from __future__ import annotations

import argparse
import sys
from importlib import import_module

# (name, "module:function building the subparser and returning the handler", help)
_SUBCOMMANDS = [
    ("run", "scalarscope.engine.cli:add_run", "train the default world and print a summary"),
    ("validate", "scalarscope.export.cli_validate:add_validate", "check a Desktop geometry file"),
    ("sweep", "scalarscope.sweeps.cli:add_sweep", "overlap x seed sweep of holdout transfer"),
    ("export-onnx", "scalarscope.onnx.cli:add_export_onnx", "export a checkpoint's student to ONNX"),
    ("score", "scalarscope.onnx.cli:add_score", "score a response with an exported ONNX conscience"),
    ("goodhart", "scalarscope.sweeps.goodhart_cli:add_goodhart",
     "conscience-only training: proxy and gold against sqrt(KL)"),
    ("pretrain", "scalarscope.student.pretrain_cli:add_pretrain",
     "pretrain the English world's GPT-2 on a corpus (cached, resumable)"),
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="scalarscope", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name, target, help_text in _SUBCOMMANDS:
        module_name, func_name = target.split(":")
        try:
            add = getattr(import_module(module_name), func_name)
        except (ImportError, AttributeError):
            continue  # a subcommand whose optional dependencies are missing is simply not offered
        add(sub.add_parser(name, help=help_text, description=help_text))
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from scalarscope.errors import ScalarScopeError

    try:
        return int(args.handler(args) or 0)
    except ScalarScopeError as exc:
        print(f"scalarscope {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
