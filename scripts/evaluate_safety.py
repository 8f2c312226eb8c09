"""Measure the safety net's layers on their own and together, clean and under typing noise.

No Rasa needed: the lexicon comes from ``data/emergency_lexicon.yml`` and the
learned detector from the trained model (``models/opastin.tar.gz``). For each
list pair in ``tests/emergency/`` (emergencies, everyday messages) and each
perturbation of :mod:`opastin.perturb` it prints, per layer:

* ``lexicon``: certain matches as written;
* ``+tolerant``: the lexicon with one edit allowed (a suspicion);
* ``+left out``: the lexicon also reading a known word as one with a letter left out;
* ``learned``: the learned detector alone, at its threshold;
* ``net``: all layers together as the bot uses them (certain or suspicion);
* ``net − left out``: the same without that reading (what it adds, side by side).

Emergencies: how many are caught (any layer); everyday: how many get a
certain answer (alarm) and how many the safety question. Whole-model figures
(the intent classifier included) come from ``scripts/evaluate_nlu.py``.

    .venv/bin/python scripts/evaluate_safety.py [--lists own blind] [--show-misses]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devtools.safety_lists import list_pairs  # noqa: E402
from opastin.perturb import PERTURBATIONS, perturb  # noqa: E402
from opastin.safety.learned import load_from_model_archive  # noqa: E402
from opastin.safety.lexicon import EmergencyMatcher, read_emergency_list, read_message_list  # noqa: E402
from opastin.safety.net import DEFAULT_MODEL, SafetyNet  # noqa: E402

LISTS = {pair.name: (pair.emergencies, pair.everyday) for pair in list_pairs()}
Outcome = str  # "certain", "question" or "none"


def layers(net: SafetyNet) -> dict[str, Callable[[str], Outcome]]:
    """Each layer as a function of the text."""

    def lexicon(text: str) -> Outcome:
        found = net.matcher.detect(text)
        return "none" if found is None else ("certain" if found.certain else "question")

    def tolerant(text: str) -> Outcome:
        return "question" if net.matcher.detect(text, tolerant=True) else "none"

    def left_out(text: str) -> Outcome:
        return "question" if net.matcher.detect(text, tolerant=True, left_out=True) else "none"

    def learned(text: str) -> Outcome:
        return "question" if net.learned is not None and net.learned.suspects(text) else "none"

    def together(text: str, within: SafetyNet = net) -> Outcome:
        verdict = within.check(text)
        return "none" if verdict is None else ("certain" if verdict.certain else "question")

    without = SafetyNet(net.matcher, net.learned, left_out=False)
    return {
        "lexicon": lexicon,
        "+tolerant": tolerant,
        "+left out": left_out,
        "learned": learned,
        "net": together,
        "net − left out": lambda text: together(text, without),
    }


def measure(
    layer: Callable[[str], Outcome], emergencies: Sequence[str], everyday: Sequence[str]
) -> tuple[int, int, int, list[str]]:
    """(caught, alarms, questions, missed) for one layer on one pair of lists."""
    outcomes = [layer(text) for text in emergencies]
    missed = [text for text, outcome in zip(emergencies, outcomes, strict=True) if outcome == "none"]
    others = [layer(text) for text in everyday]
    return len(emergencies) - len(missed), others.count("certain"), others.count("question"), missed


def main(argv: Sequence[str] | None = None) -> int:
    """Print one table per list pair: rows are layers, columns perturbations."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lists", nargs="+", default=list(LISTS), choices=list(LISTS))
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--show-misses", action="store_true", help="print what the whole net missed")
    args = parser.parse_args(argv)
    matcher = EmergencyMatcher.from_file("data/emergency_lexicon.yml")
    net = SafetyNet(matcher, load_from_model_archive(args.model))
    names = ["clean", *PERTURBATIONS]
    for list_name in args.lists:
        emergency_file, everyday_file = LISTS[list_name]
        emergencies = [text for _, text in read_emergency_list(emergency_file)]
        everyday = read_message_list(everyday_file)
        print(f"\n## {list_name}: {len(emergencies)} emergencies, {len(everyday)} everyday messages")
        print("caught · everyday alarms · everyday safety questions\n")
        print("| layer | " + " | ".join(names) + " |")
        print("|---|" + "---|" * len(names))
        misses: dict[str, list[str]] = {}
        for layer_name, layer in layers(net).items():
            cells = []
            for name in names:
                noisy = (lambda t: t) if name == "clean" else (lambda t, n=name: perturb(t, n))
                caught, alarms, questions, missed = measure(
                    layer, [noisy(t) for t in emergencies], [noisy(t) for t in everyday]
                )
                cells.append(f"{caught} · {alarms} · {questions}")
                if layer_name == "net" and missed:
                    misses[name] = missed
            print(f"| {layer_name} | " + " | ".join(cells) + " |")
        if args.show_misses:
            for name, missed in misses.items():
                for text in missed:
                    print(f"  MISS [{name}] {text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
