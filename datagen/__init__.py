"""Synthetic bilingual math problems with exact answers, curricula, export, hand-off and scoring.

One top-level name: the repository keeps its folders (``datagen/ curricula/ eval/ train/ configs/``)
and the wheel installs them as ``datagen``, ``datagen.curricula``, ``datagen.eval``, ``datagen.train``
and ``datagen.configs`` (``package-dir`` in pyproject.toml), so a user's own ``eval/`` or ``train.py``
neither shadows nor is shadowed by ours.
"""

from pathlib import Path as _Path

__version__ = "0.1.0"

# In a checkout (tests, `python -m datagen` from the repository) the sibling folders are the same
# subpackages the wheel maps under datagen/: let this package's search path include the checkout root.
_checkout = _Path(__file__).resolve().parent.parent
if (_checkout / "pyproject.toml").is_file() and (_checkout / "curricula" / "__init__.py").is_file():
    __path__.append(str(_checkout))  # noqa: F821 (a package's own __path__)
del _Path, _checkout
