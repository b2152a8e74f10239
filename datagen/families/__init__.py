"""One module per family area; importing this package registers every family."""

from datagen.families import (  # noqa: F401  (import registers)
    algebra,
    arithmetic,
    equations,
    expressions,
    facts,
    fraction,
    functions,
    polynomials,
    powers,
    radicals,
    roots,
    statistics,
    units,
    word,
)
