"""split.fractions, the train, valid and test shares of each label: they must add up to 1.

Light on purpose (no pandas): the config check reads it at every start.
"""

from __future__ import annotations


def fractions_problem(fractions: dict) -> str | None:
    """What is wrong with split.fractions (they do not add up to 1), or None."""
    total = sum(float(share) for share in fractions.values())
    if abs(total - 1.0) <= 1e-6:
        return None
    shares = " + ".join(f"{part} {float(share):g}" for part, share in fractions.items())
    return f"{shares} add up to {total:g}; they must add up to 1"
