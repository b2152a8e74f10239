"""One module per family area; importing this package registers every family."""

from datagen.families import (  # noqa: F401
    arithmetic,
    equations,
    fraction,
    functions,
    powers,
    roots,
    statistics,
    word,
)
from datagen.families import (  # noqa: F401  (the symbolic families)
    expressions,
    radicals,
    algebra,
    polynomials,
    facts,
    units,
)
