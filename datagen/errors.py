"""Errors a user can fix, shared by every package; each CLI prints them on one line.

Library code raises these; only the entry point (``datagen.cli``) turns them into a message
and an exit code. Nothing here imports a command module.
"""

from __future__ import annotations

from pathlib import Path

# documented exit codes (README "Exit codes")
EXIT_OK = 0
EXIT_GATE_FAIL = 1  # a check the user asked for ran and failed (e.g. the SQuAD retention gate)
EXIT_USAGE = 2  # user error: options, input files, outputs; the message says what to fix
EXIT_SIGINT = 130
EXIT_SIGTERM = 143

# the install form the README uses, so every hint reads the same
INSTALL_HINT = "pip install '.[{extra}]'"


class DatagenError(Exception):
    """A problem the user can fix. ``str()`` gives ``file:line: field: message; hint``."""

    exit_code = EXIT_USAGE

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        line: int | None = None,
        field: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = None if path is None else str(path)
        self.line = line
        self.field = field
        self.hint = hint

    def __reduce__(self):
        # whole across processes (a shard worker's error reaches the command line as raised)
        return _restore, (type(self), self.args, self.__dict__.copy())

    def __str__(self) -> str:
        where = ""
        if self.path is not None:
            where = self.path if self.line is None else f"{self.path}:{self.line}"
        parts = [p for p in (where, self.field) if p]
        text = ": ".join([*parts, self.message])
        return f"{text}; {self.hint}" if self.hint else text


def _restore(cls, args: tuple, state: dict) -> DatagenError:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class UsageError(DatagenError):
    """A mistake in the command line: a bad option value, a missing argument."""


class InputError(DatagenError):
    """An input file that cannot be used as it is (missing, unreadable, malformed, empty)."""


class OutputError(DatagenError):
    """An output that cannot be written, or that exists and ``--force`` was not given."""


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


class MissingExtraError(DatagenError):
    """Optional packages are not installed; the message names them all and the extras that bring them
    (``datagen.extras.require`` builds it from the packages a command needs)."""

    def __init__(self, what: str, package: str | list[str], extra: str | list[str]) -> None:
        packages = [package] if isinstance(package, str) else list(package)
        extras = [extra] if isinstance(extra, str) else list(extra)
        which = "which is" if len(packages) == 1 else "which are"
        super().__init__(f"{what} needs {_and(packages)}, {which} not installed",
                         hint=INSTALL_HINT.format(extra=",".join(extras)))
        self.packages = packages
        self.extras = extras
        self.package = _and(packages)
        self.extra = ",".join(extras)


class Terminated(BaseException):
    """Raised in the main thread by the SIGTERM handler so that cleanup code runs.

    A ``BaseException`` like ``KeyboardInterrupt``: ``except Exception`` does not swallow it.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(f"terminated by signal {signum}")
        self.signum = signum
