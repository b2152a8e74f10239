"""Keyed, index-addressable randomness.

An item's randomness is a pure function of (seed, family, class, index): keys come
from BLAKE2b over those names, and points are drawn through a keyed bijection of the
class's space, so a run never repeats a problem and different seeds share items only
by chance.  Nothing here keeps per-item state, so memory does not grow with --n.
"""

from __future__ import annotations

import bisect
import hashlib

MASK64 = (1 << 64) - 1


def derive_key(seed: int, *parts: object) -> int:
    """A 64-bit key from the seed and any names (family, class, purpose)."""
    text = "\x1f".join([str(seed), *map(str, parts)]).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "little")


def mix64(x: int) -> int:
    """SplitMix64 finaliser: a fast, well-mixing 64-bit hash."""
    x = (x + 0x9E3779B97F4A7C15) & MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK64
    return x ^ (x >> 31)


class Permutation:
    """A keyed bijection of [0, size), evaluated point by point.

    Rounds of odd multiplication, key addition and xor-shift are each invertible
    on [0, 2**bits); cycle-walking restricts the bijection to [0, size).
    """

    __slots__ = ("size", "mask", "shift", "rounds")

    def __init__(self, size: int, key: int) -> None:
        if size < 1:
            raise ValueError("permutation size must be positive")
        bits = max(1, (size - 1).bit_length())
        self.size = size
        self.mask = (1 << bits) - 1
        self.shift = max(1, (bits + 1) // 2)
        rounds = []
        k = key
        for _ in range(3):
            k = mix64(k)
            mult = (k | 1) & self.mask or 1
            k = mix64(k)
            rounds.append((mult, k & self.mask))
        self.rounds = tuple(rounds)

    def __call__(self, index: int) -> int:
        mask, shift, size = self.mask, self.shift, self.size
        x = index
        while True:
            for mult, add in self.rounds:
                x = (x * mult + add) & mask
                x ^= x >> shift
            if x < size:
                return x


class Interleave:
    """Round-robin over groups of given sizes; groups that run out drop out.

    ``locate(t)`` maps a position in the merged stream to (group, index in group)
    in O(log groups), so any chunk of the stream can be produced independently.
    """

    def __init__(self, counts: list[int]) -> None:
        self.counts = list(counts)
        self.total = sum(counts)
        levels = sorted({c for c in counts if c > 0})
        self.starts: list[int] = []
        self.segments: list[tuple[int, list[int]]] = []
        position, previous = 0, 0
        for level in levels:
            active = [g for g, c in enumerate(counts) if c >= level]
            self.starts.append(position)
            self.segments.append((previous, active))
            position += (level - previous) * len(active)
            previous = level

    def locate(self, t: int) -> tuple[int, int]:
        if not 0 <= t < self.total:
            raise IndexError(t)
        s = bisect.bisect_right(self.starts, t) - 1
        first_round, active = self.segments[s]
        offset = t - self.starts[s]
        width = len(active)
        return active[offset % width], first_round + offset // width


def water_fill(total: int, capacities: list[int]) -> list[int]:
    """Split ``total`` as evenly as possible without exceeding any capacity."""
    counts = [0] * len(capacities)
    open_groups = [g for g, cap in enumerate(capacities) if cap > 0]
    left = total
    while left > 0 and open_groups:
        share, extra = divmod(left, len(open_groups))
        next_open = []
        for rank, g in enumerate(open_groups):
            want = share + (1 if rank < extra else 0)
            take = min(want, capacities[g] - counts[g])
            counts[g] += take
            left -= take
            if counts[g] < capacities[g]:
                next_open.append(g)
        open_groups = next_open
    return counts
