"""How many people one booking or walk-in may be: the party sizes residents choose from, the door's walk-in form
offers and the database's CHECK holds (a parent with a child needs two seats; larger groups call the team)."""
from __future__ import annotations

MIN_PARTY = 1
MAX_PARTY = 4
# The sizes offered, smallest first: booking form, walk-in form (handed to templates as PARTY_SIZES).
PARTY_SIZES = tuple(range(MIN_PARTY, MAX_PARTY + 1))
# The same rule as the table's CHECK constraint (busapp/models.py).
PARTY_CHECK = f"party_size BETWEEN {MIN_PARTY} AND {MAX_PARTY}"


def valid_party(n: object) -> bool:
    """Whether `n` people may book or walk in together."""
    return isinstance(n, int) and not isinstance(n, bool) and MIN_PARTY <= n <= MAX_PARTY
