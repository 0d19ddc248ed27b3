"""``scalarscope export-onnx CHECKPOINT OUT.onnx`` and ``scalarscope score OUT.onnx PROMPT RESPONSE``.

This module imports neither torch nor onnxruntime: ``score`` runs on onnxruntime alone, and
``export-onnx`` imports torch only when it runs.
"""

from __future__ import annotations

import argparse
import json


def add_export_onnx(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("checkpoint", help="a checkpoint written by engine.save / scalarscope run --save")
    parser.add_argument("out", help="where to write the .onnx file")
    parser.add_argument("--no-head", action="store_true",
                        help="leave the internal evaluator out (policy only; `score` will refuse it)")
    parser.set_defaults(handler=export_command)
    return parser


def add_score(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("model", help="a .onnx file written by export-onnx")
    parser.add_argument("prompt")
    parser.add_argument("response")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument("--threads", type=int, default=None, help="onnxruntime threads (1 to the number of cores)")
    parser.set_defaults(handler=score_command)
    return parser


def export_command(args: argparse.Namespace) -> int:
    from scalarscope._atomic import check_output_path
    from scalarscope.engine.cli import same_file
    from scalarscope.errors import ConfigError

    check_output_path(args.out, "export-onnx OUT")  # before loading the checkpoint and tracing the graph
    if same_file(args.checkpoint, args.out):
        raise ConfigError(f"CHECKPOINT and OUT are the same file ({args.out!r}); the ONNX file would replace the "
                          "checkpoint: give OUT another path, e.g. student.onnx")
    from scalarscope.engine import ScalarScopeEngine
    from scalarscope.onnx.export import export_onnx

    engine = ScalarScopeEngine.load(args.checkpoint)
    path = export_onnx(engine, args.out, include_head=not args.no_head)
    heads = "no internal evaluator" if args.no_head else f"internal evaluator for {', '.join(engine.train_names)}"
    print(f"onnx: {path} (cycle {engine.cycle}, {heads}; holdout {engine.holdout})")
    return 0


def _finite_or_null(value: float) -> float | None:
    """JSON has no NaN: a score that could not be computed is null."""
    import math

    return float(value) if math.isfinite(value) else None


def score_command(args: argparse.Namespace) -> int:
    from scalarscope.onnx.conscience import OnnxConscience

    conscience = OnnxConscience(args.model, threads=args.threads)
    result = conscience.score(args.prompt, args.response)
    if args.json:
        print(json.dumps({"scores": {k: _finite_or_null(v) for k, v in result.scores.items()},
                          "aggregate": _finite_or_null(result.aggregate), "holdout": conscience.holdout,
                          "cycle": conscience.cycle}, allow_nan=False))
        return 0
    width = max(len(n) for n in (*result.scores, "aggregate"))
    for name, score in result.scores.items():
        print(f"{name:<{width}}  {score:.4f}")
    print(f"{'aggregate':<{width}}  {result.aggregate:.4f}")
    return 0
