"""The ``datagen`` entry point: one subcommand per package, dispatched here."""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from datagen import __version__, signals
from datagen.errors import EXIT_SIGINT, EXIT_SIGTERM, EXIT_USAGE, DatagenError, Terminated, UsageError
from datagen.output import DISK_FULL, cleanup

# (module, function) that adds each subcommand; imported only when present so a
# missing optional part never breaks the others
COMMANDS = [
    ("datagen.make", "add_parser"),
    ("datagen.curricula.audit", "add_parser"),
    ("datagen.curricula.build", "add_parser"),
    ("datagen.curricula.export", "add_parser"),
    ("datagen.train.cli", "add_parser"),
    ("datagen.eval.cli", "add_parser"),
    ("datagen.train.bench", "add_parser"),
]


__all__ = ["UsageError", "build_parser", "main"]  # UsageError re-exported for old imports


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="datagen",
        description="Synthetic bilingual math data, curricula, MindRecord export and scoring.",
    )
    parser.add_argument("--version", action="version", version=f"datagen {__version__}")
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


def _reader_closed() -> int:
    """The reader of standard output went away (``| head``): a normal end, like other CLIs.

    Standard output is pointed at /dev/null so that the interpreter's final flush stays quiet.
    """
    cleanup()
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run one command; user errors and signals end in one line on stderr and a documented code."""
    signals.install()
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # the command as typed (dataset cards)
    if not getattr(args, "handler", None):
        parser.print_help()
        return EXIT_USAGE
    # every nested subparser stores its name as ``action``: "datagen train smoke: error: ..."
    name = " ".join(p for p in (args.command, getattr(args, "action", None)) if isinstance(p, str))
    try:
        return int(args.handler(args) or 0)
    except DatagenError as exc:
        print(f"datagen {name}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:
        return _reader_closed()
    except (FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError) as exc:
        # an OS refusal on a path the user gave: say which, never a traceback
        target = exc.filename if exc.filename is not None else "a path"
        print(f"datagen {name}: error: {target}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        if exc.errno not in DISK_FULL:
            raise
        cleanup()  # free the space the partial output took before saying so
        target = f"{exc.filename}: " if exc.filename is not None else ""
        print(f"datagen {name}: error: {target}{os.strerror(exc.errno)}; nothing partial was left at the "
              "output path", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        cleanup()
        print(f"datagen {name}: interrupted; nothing partial was left at the output path", file=sys.stderr)
        return EXIT_SIGINT
    except Terminated:
        cleanup()
        print(f"datagen {name}: terminated; nothing partial was left at the output path", file=sys.stderr)
        return EXIT_SIGTERM


if __name__ == "__main__":
    sys.exit(main())
