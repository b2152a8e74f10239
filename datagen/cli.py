"""The ``datagen`` entry point: one subcommand per package, dispatched here."""

from __future__ import annotations

import argparse
import importlib
import sys

# (module, function) that adds each subcommand; imported only when present so a
# missing optional part never breaks the others
COMMANDS = [
    ("datagen.make", "add_parser"),
    ("curricula.audit", "add_parser"),
    ("curricula.build", "add_parser"),
    ("curricula.export", "add_parser"),
    ("train.cli", "add_parser"),
    ("eval.cli", "add_parser"),
    ("train.bench", "add_parser"),
]


class UsageError(Exception):
    """A mistake in the command line or its inputs: printed on one line, exit code 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="datagen",
        description="Synthetic bilingual math data, curricula, MindRecord export and scoring.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name, function in COMMANDS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):
                continue
            raise
        getattr(module, function)(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        return int(args.handler(args) or 0)
    except UsageError as exc:
        print(f"datagen {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; no partial output was left at the final path", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
