"""The safety net's test lists in ``tests/emergency/``, found by their file names.

Each list is a pair: ``<name>_emergency.txt`` (``level<TAB>message`` per line)
and ``<name>_everyday.txt`` (one message per line); the project's own pair is
``emergency.txt`` and ``non_emergency.txt``. A new blind list joins every
measurement by being added there, named ``blindN_*``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

SAFETY_DIR = Path(__file__).resolve().parent.parent / "tests" / "emergency"
OWN = "own"
# Blind list 5 is small (50 crisis messages, 60 everyday ones) and measured one family of wordings
# (docs/safety.md, round 5): it is measured with the others by scripts/evaluate_safety.py, but one
# everyday answer in it would already be 1.7 %, so the 1 % gate of scripts/evaluate_nlu.py leaves it out.
OUTSIDE_THE_GATE = frozenset({"blind5"})
_BLIND = re.compile(r"^blind(\d*)_emergency\.txt$")


@dataclass(frozen=True)
class ListPair:
    """One list: its name (``own``, ``blind``, ``blind2`` …) and its two files."""

    name: str
    emergencies: Path
    everyday: Path


def list_pairs(*, gate: bool = False, directory: Path = SAFETY_DIR) -> list[ListPair]:
    """The own list, then the blind lists in the order they were written (``gate``: those the gate uses)."""
    found = [ListPair(OWN, directory / "emergency.txt", directory / "non_emergency.txt")]
    numbered = []
    for path in directory.glob("blind*_emergency.txt"):
        matched = _BLIND.match(path.name)
        everyday = directory / path.name.replace("_emergency.txt", "_everyday.txt")
        if matched is None or not everyday.exists():
            continue
        name = path.name.removesuffix("_emergency.txt")
        numbered.append((int(matched.group(1) or 1), ListPair(name, path, everyday)))
    found += [pair for _, pair in sorted(numbered, key=lambda item: item[0])]
    return [pair for pair in found if not (gate and pair.name in OUTSIDE_THE_GATE)]
