"""One module per family area; importing this package registers every family.

The import order is the registration order, and so the order of every family table (--types all,
the symbolic group, help texts): the contest's families first, in the contest's order.
"""

from datagen.families import (  # noqa: F401, I001  (import registers, in this order)
    arithmetic,
    powers,
    roots,
    equations,
    functions,
    statistics,
    word,
    fraction,
    expressions,
    radicals,
    algebra,
    polynomials,
    facts,
    units,
    percent,
    remainder,
)
