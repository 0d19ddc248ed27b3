"""The command-line flags every world-taking subcommand shares (``run``, ``sweep``, ``goodhart``).

``--world NAME`` picks a registered world; a few common options have their own flags
(``--overlap``, ``--evaluators``, ``--student``, ``--context-share``), and ``--option KEY=VALUE``
passes any other option the world accepts. A flag left out is not passed, so each world's own
default applies; a flag the world does not accept is an error (exit 2) naming the world and the flag.
"""

from __future__ import annotations

import argparse
import ast

# option name -> the flag that sets it (flags a subcommand adds itself, with its own defaults)
FLAGS = {"overlap": "--overlap", "n_evaluators": "--evaluators", "student": "--student",
         "context_share": "--context-share", "corpus": "--corpus"}


def _key_value(text: str) -> tuple[str, object]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"--option wants KEY=VALUE (e.g. --option n_words=500), got {text!r}")
    try:
        parsed = ast.literal_eval(value)
    except (ValueError, SyntaxError):
        parsed = value  # a bare word is a string
    return key.strip(), parsed


def add_world_arguments(parser: argparse.ArgumentParser) -> None:
    """``--world`` and ``--option`` (the subcommand adds the named flags it offers)."""
    parser.add_argument("--world", default="default",
                        help="a registered world: default (characters, synthetic evaluators), real-judges (a "
                             "word-writing GPT-2 judged by MiniLM, VADER and word statistics), english (a GPT-2 pretrained on "
                             "English sentences, four sentiment judges and two unrelated ones), or one registered "
                             "by a module named in SCALARSCOPE_WORLDS")
    parser.add_argument("--corpus", default=None, metavar="PATH",
                        help="worlds that read text (english): a UTF-8 text file or folder instead of Debian's "
                             "fortunes and wordnet-base")
    parser.add_argument("--option", action="append", type=_key_value, default=[], metavar="KEY=VALUE",
                        help="any other option of the world (repeatable), e.g. --option n_words=500")


def world_options(args: argparse.Namespace) -> dict:
    """The options the flags give (those left out are not passed), checked against the world."""
    from scalarscope.errors import ConfigError
    from scalarscope.worlds import get_world

    options = {name: getattr(args, name) for name in FLAGS if getattr(args, name, None) is not None}
    for key, value in args.option:
        if key in options:
            raise ConfigError(f"option {key!r} is given twice ({FLAGS.get(key, '--option')} and --option {key}=...)")
        options[key] = value
    spec = get_world(args.world)
    unknown = sorted(set(options) - spec.options)
    if unknown:
        named = ", ".join(f"{FLAGS[k]}" if k in FLAGS and getattr(args, k, None) is not None else f"--option {k}"
                          for k in unknown)
        takes = ", ".join(sorted(spec.options)) or "no options"
        raise ConfigError(f"world {args.world!r} does not accept option(s) {', '.join(map(repr, unknown))} ({named}); "
                          f"it accepts: {takes}")
    return options
