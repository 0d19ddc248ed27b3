"""``scalarscope run``: train a world (``--world``, default: the default world) and print a summary table.

Output paths (``--save``, ``--export``) are checked before training starts, so a run is never lost
to a typo in a path. Ctrl-C (SIGINT) or SIGTERM stops training after rolling back the cycle in
progress; ``--save`` then writes the last completed cycle, and the command exits with the usual
status (130 / 143).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scalarscope.engine.loop import ScalarScopeEngine



def _int_at_least(minimum: int, example: str):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an int >= {minimum}, got {text!r}; e.g. {example}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be an int >= {minimum}, got {value}; e.g. {example}")
        return value

    return parse


def add_run(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    from scalarscope.worlds._cli import add_world_arguments

    add_world_arguments(parser)
    parser.add_argument("--overlap", type=float, default=None,
                        help="evaluator overlap rho in [0, 1] (worlds with an overlap knob; default world: 0.5)")
    parser.add_argument("--cycles", type=_int_at_least(0, "--cycles 300"), default=300, help="training cycles")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--evaluators", dest="n_evaluators", type=_int_at_least(1, "--evaluators 5"), default=None,
                        help="number of synthetic evaluators (default world: 5)")
    parser.add_argument("--holdout", default=None, help="evaluator to hold out (e.g. clarity)")
    parser.add_argument("--student", default=None, choices=["gru", "tiny-gpt2"],
                        help="the student model of worlds that take one (tiny-gpt2: a small GPT-2 built offline)")
    parser.add_argument("--budget", type=_int_at_least(1, "--budget 512"), default=None,
                        help="max tokens per cycle (default: one full batch)")
    parser.add_argument("--strategy", default=None, choices=["fixed", "adaptive"],
                        help="how the governor shares the budget (default: fixed)")
    parser.add_argument("--export", default=None, metavar="PATH", help="write the Desktop geometry file here")
    parser.add_argument("--save", default=None, metavar="PATH",
                        help="write a checkpoint here (also when stopped by Ctrl-C or SIGTERM)")
    parser.add_argument("--no-progress", action="store_true")
    parser.set_defaults(handler=run_command)
    return parser


class _Stopped(BaseException):
    """Raised in the main thread by SIGINT / SIGTERM while training (a BaseException, like Ctrl-C)."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@contextmanager
def _stop_on_signals():
    """Turn SIGINT and SIGTERM into :class:`_Stopped` for the block (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame):
        raise _Stopped(signum)

    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def check_run_outputs(args: argparse.Namespace) -> None:
    """Everything that would fail after training, checked before it."""
    from scalarscope._atomic import check_output_path
    from scalarscope.errors import ConfigError

    if args.export and args.cycles == 0:
        raise ConfigError("--export with --cycles 0: a geometry file needs at least one cycle (the viewer "
                          "rejects an empty trajectory); run at least one cycle, e.g. --cycles 10")
    if args.save:
        check_output_path(args.save, "--save")
    if args.export:
        from scalarscope.export.geometry_export import check_geometry_path

        check_geometry_path(args.export)
    if args.save and args.export and same_file(args.save, args.export):
        raise ConfigError(f"--save and --export name the same file ({args.save!r}); the geometry file would replace "
                          "the checkpoint: give them different paths")


def same_file(first: str, second: str) -> bool:
    """Whether two paths name the same file (the same inode when both exist, else the same real path)."""
    import os

    try:
        return os.path.samefile(first, second)
    except OSError:
        return os.path.realpath(os.path.expanduser(first)) == os.path.realpath(os.path.expanduser(second))


def _write_outputs(engine, args: argparse.Namespace, *, stopped: bool) -> int:
    """Write --save then --export; a failure of one is reported and the other is still tried.
    Returns 0, or 1 when a write failed."""
    status = 0
    outputs = [("checkpoint", args.save, engine.save)]
    if not stopped:
        outputs.append(("geometry", args.export, engine.export_geometry))
    for label, target, write in outputs:
        if not target:
            continue
        try:
            path = write(target)
        except OSError as exc:  # OutputPathError (a full disk, a file-size limit) or any other write failure
            print(f"scalarscope run: error: the {label} was not written: {exc}", file=sys.stderr)
            status = 1
            continue
        where = f" (cycle {engine.cycle})" if stopped else ""
        print(f"{label + ':':<11} {path}{where}", file=sys.stderr if stopped else sys.stdout)
    return status


def build_run_engine(args: argparse.Namespace) -> ScalarScopeEngine:
    """The engine ``scalarscope run`` trains: ``--world`` with the options its flags give; ``--budget``
    and ``--strategy`` set the token pool (left out: the world's own)."""
    from scalarscope.worlds import build_world
    from scalarscope.worlds._cli import world_options

    world = build_world(args.world, seed=args.seed, **world_options(args))
    if args.budget is None and args.strategy is None:
        return world.engine(holdout=args.holdout)
    import inspect

    from scalarscope.errors import ConfigError
    from scalarscope.governor import GovernorConfig, TokenPool

    if "token_pool" not in inspect.signature(world.engine).parameters:
        raise ConfigError(f"--budget / --strategy: the world {args.world!r} builds its own token pool "
                          "(its engine() takes no token_pool); drop those flags")
    config = world.engine_config()
    per_cycle = config.batch_size * config.max_new_tokens if args.budget is None else args.budget
    pool = TokenPool(GovernorConfig(max_tokens_per_cycle=per_cycle, budget_strategy=args.strategy or "fixed"))
    return world.engine(holdout=args.holdout, token_pool=pool)



def run_command(args: argparse.Namespace) -> int:
    from scalarscope.engine.summary import summary_text

    check_run_outputs(args)
    engine = build_run_engine(args)
    start = time.perf_counter()
    try:
        with _stop_on_signals():
            engine.run(args.cycles, progress=not args.no_progress)
    except (_Stopped, KeyboardInterrupt) as stop:
        signum = stop.signum if isinstance(stop, _Stopped) else signal.SIGINT
        print(f"\nstopped by {signal.Signals(signum).name} after {engine.cycle} completed cycle(s)", file=sys.stderr)
        _write_outputs(engine, args, stopped=True)
        return 128 + int(signum)
    print(summary_text(engine, wall_seconds=time.perf_counter() - start))
    return _write_outputs(engine, args, stopped=False)
