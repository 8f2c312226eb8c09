"""The safety lists are found by their file names, in the order they were written."""

from __future__ import annotations

from pathlib import Path

from devtools.safety_lists import OUTSIDE_THE_GATE, list_pairs


def _write(directory: Path, *names: str) -> None:
    for name in names:
        (directory / name).write_text("# a list\n", encoding="utf-8")


def test_lists_come_own_first_then_blind_in_written_order(tmp_path: Path) -> None:
    _write(tmp_path, "emergency.txt", "non_emergency.txt")
    for stem in ("blind", "blind2", "blind10", "blind5"):
        _write(tmp_path, f"{stem}_emergency.txt", f"{stem}_everyday.txt")
    _write(tmp_path, "blind11_emergency.txt")  # without its everyday half: not a list yet
    names = [pair.name for pair in list_pairs(directory=tmp_path)]
    assert names == ["own", "blind", "blind2", "blind5", "blind10"]
    gated = [pair.name for pair in list_pairs(gate=True, directory=tmp_path)]
    assert gated == [name for name in names if name not in OUTSIDE_THE_GATE]
    assert list_pairs(directory=tmp_path)[2].everyday == tmp_path / "blind2_everyday.txt"


def test_the_committed_lists_are_all_found() -> None:
    pairs = list_pairs()
    assert pairs[0].name == "own"
    assert all(pair.emergencies.exists() and pair.everyday.exists() for pair in pairs)
    assert len(pairs) == 1 + len(list(pairs[0].emergencies.parent.glob("blind*_emergency.txt")))
