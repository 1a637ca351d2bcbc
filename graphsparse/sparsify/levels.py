"""Rounds of a GLT schedule named by text: ``'15-20'``, ``'1,10,20'`` or a mix."""

from __future__ import annotations

__all__ = ["parse_levels"]


def parse_levels(text: str, rounds: int) -> set[int]:
    """Rounds named by ``'15-20'``, ``'1,10,20'`` or a mix; each must lie in 1..rounds."""
    wanted: set[int] = set()
    for part in (p.strip() for p in str(text).split(",")):
        try:
            lo, dash, hi = part.partition("-")
            if dash and not hi.strip():  # '15-' is no range: an upper round must be named
                raise ValueError
            first, last = int(lo), int(hi or lo)
        except ValueError:
            message = f"--levels: cannot read {part!r} in {text!r}; use rounds like '15-20' or '1,10,20'"
            raise ValueError(message) from None
        if not 1 <= first <= last <= rounds:
            raise ValueError(f"--levels: {part!r} is outside rounds 1..{rounds} (or reversed)")
        wanted.update(range(first, last + 1))
    return wanted
