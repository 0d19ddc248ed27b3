"""``scalarscope run``: train the default world and print a summary table.

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
    parser.add_argument("--overlap", type=float, default=0.5, help="evaluator overlap rho in [0, 1]")
    parser.add_argument("--cycles", type=_int_at_least(0, "--cycles 300"), default=300, help="training cycles")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--evaluators", type=_int_at_least(1, "--evaluators 5"), default=5,
                        help="number of synthetic evaluators")
    parser.add_argument("--holdout", default=None, help="evaluator to hold out (e.g. clarity)")
    parser.add_argument("--world", default="default", choices=["default", "real-judges", "english"],
                        help="default: characters and synthetic evaluators; real-judges: a word-writing GPT-2 "
                             "judged by MiniLM, VADER and word statistics; english: a GPT-2 pretrained on English "
                             "sentences, judged by four sentiment judges and two unrelated ones")
    parser.add_argument("--corpus", default=None, metavar="PATH",
                        help="english world: a UTF-8 text file or folder instead of Debian's fortunes and wordnet-base")
    parser.add_argument("--student", default="gru", choices=["gru", "tiny-gpt2"],
                        help="the student model (tiny-gpt2: a small GPT-2 built offline)")
    parser.add_argument("--budget", type=_int_at_least(1, "--budget 512"), default=None,
                        help="max tokens per cycle (default: one full batch)")
    parser.add_argument("--strategy", default="fixed", choices=["fixed", "adaptive"])
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


def _real_judges_engine(args: argparse.Namespace):
    """The real-judges world's engine (its own student over words; --overlap, --evaluators and
    --student do not apply: the judges' overlap is measured, not set)."""
    from scalarscope.errors import ConfigError
    from scalarscope.governor import GovernorConfig, TokenPool
    from scalarscope.worlds.real_judges import real_judges_world

    if args.student != "gru":
        raise ConfigError("--student applies to the default world; the real-judges world has its own word-level "
                          "tiny GPT-2 (drop --student)")
    world = real_judges_world(args.seed)
    config = world.config
    per_cycle = config.batch_size * config.max_new_tokens if args.budget is None else args.budget
    pool = TokenPool(GovernorConfig(max_tokens_per_cycle=per_cycle, budget_strategy=args.strategy))
    return world.engine(holdout=args.holdout, token_pool=pool)


def _english_engine(args: argparse.Namespace):
    """The English world's engine (its pretrained student; --overlap, --evaluators, --student do not apply)."""
    from scalarscope.errors import ConfigError
    from scalarscope.governor import GovernorConfig, TokenPool
    from scalarscope.worlds.english import english_world

    if args.student != "gru":
        raise ConfigError("--student applies to the default world; the english world has its own pretrained GPT-2 "
                          "(drop --student)")
    world = english_world(args.seed, corpus=args.corpus)
    config = world.engine_config()
    per_cycle = config.batch_size * config.max_new_tokens if args.budget is None else args.budget
    pool = TokenPool(GovernorConfig(max_tokens_per_cycle=per_cycle, budget_strategy=args.strategy))
    return world.engine(holdout=args.holdout, token_pool=pool)


def run_command(args: argparse.Namespace) -> int:
    from scalarscope.engine.default_world import build_default_world
    from scalarscope.engine.summary import summarize

    check_run_outputs(args)
    if args.world == "real-judges":
        engine = _real_judges_engine(args)
    elif args.world == "english":
        engine = _english_engine(args)
    else:
        engine = build_default_world(overlap=args.overlap, seed=args.seed, n=args.evaluators, holdout=args.holdout,
                                     budget=args.budget, strategy=args.strategy, student=args.student)
    start = time.perf_counter()
    try:
        with _stop_on_signals():
            engine.run(args.cycles, progress=not args.no_progress)
    except (_Stopped, KeyboardInterrupt) as stop:
        signum = stop.signum if isinstance(stop, _Stopped) else signal.SIGINT
        print(f"\nstopped by {signal.Signals(signum).name} after {engine.cycle} completed cycle(s)", file=sys.stderr)
        if args.save:
            engine.save(args.save)
            print(f"checkpoint: {args.save} (cycle {engine.cycle})", file=sys.stderr)
        return 128 + int(signum)
    print(summarize(engine, wall_seconds=time.perf_counter() - start))
    if args.save:
        engine.save(args.save)
        print(f"checkpoint: {args.save}")
    if args.export:
        path = engine.export_geometry(args.export)
        print(f"geometry:   {path}")
    return 0
