"""The emergency lexicon alone: recall and false alarms on ``tests/emergency/*.txt``, and its speed.

    .venv/bin/python scripts/evaluate_lexicon.py --evaluate
    .venv/bin/python scripts/evaluate_lexicon.py "isällä kova rintakipu"

``--evaluate`` exits non-zero when recall at the right level is below 100 % or
false alarms above 1 %. With messages (or lines on stdin) it prints each one's
level and rule. ``scripts/evaluate_safety.py`` measures the whole safety net.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from opastin.safety.lexicon import (  # noqa: E402
    DEFAULT_LEXICON,
    EmergencyMatch,
    EmergencyMatcher,
    read_emergency_list,
    read_message_list,
)

TESTS_DIR = ROOT / "tests" / "emergency"


@dataclass
class Evaluation:
    """Recall on the emergency list and false alarms on the non-emergency list."""

    emergencies: int
    detected_at_level: int
    misses: list[tuple[str, str, str | None]]  # expected level, message, detected level
    non_emergencies: int
    false_alarms: list[tuple[str, EmergencyMatch]]
    seconds_per_message: float
    cold_seconds_per_message: float

    @property
    def recall(self) -> float:
        return self.detected_at_level / self.emergencies if self.emergencies else 1.0

    @property
    def false_alarm_rate(self) -> float:
        return len(self.false_alarms) / self.non_emergencies if self.non_emergencies else 0.0


def evaluate(matcher: EmergencyMatcher, tests_dir: Path = TESTS_DIR) -> Evaluation:
    """Run ``matcher`` over ``emergency.txt`` and ``non_emergency.txt`` in ``tests_dir``."""
    emergencies = read_emergency_list(tests_dir / "emergency.txt")
    others = read_message_list(tests_dir / "non_emergency.txt")
    misses = []
    for level, message in emergencies:
        found = matcher.detect(message)
        if found is None or found.level != level:
            misses.append((level, message, found.level if found else None))
    false_alarms = [(message, found) for message in others if (found := matcher.detect(message))]
    texts = [message for _, message in emergencies] + others
    matcher.clear_caches()
    started = time.perf_counter()
    for message in texts:
        matcher.detect(message)
    cold = (time.perf_counter() - started) / len(texts)
    rounds = 5
    started = time.perf_counter()
    for _ in range(rounds):
        for message in texts:
            matcher.detect(message)
    elapsed = (time.perf_counter() - started) / (rounds * len(texts))
    return Evaluation(
        len(emergencies), len(emergencies) - len(misses), misses, len(others), false_alarms, elapsed, cold
    )


def _report(name: str, result: Evaluation) -> None:
    print(f"[{name}]")
    print(
        f"  emergency recall (right level): {result.detected_at_level}/{result.emergencies}"
        f" = {result.recall:.1%}"
    )
    for level, message, found in result.misses:
        print(f"    MISS expected {level}, got {found}: {message}")
    print(
        f"  false alarms: {len(result.false_alarms)}/{result.non_emergencies} = {result.false_alarm_rate:.1%}"
    )
    for message, found in result.false_alarms:
        print(f"    FALSE ALARM {found.level} ({found.rule}: {found.matched!r}): {message}")
    print(
        f"  cost per message: {result.seconds_per_message * 1000:.3f} ms with warm word cache, "
        f"{result.cold_seconds_per_message * 1000:.3f} ms on first sight of every word"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``--evaluate`` prints recall and false alarms; otherwise check given messages."""
    parser = argparse.ArgumentParser(description="Opastin emergency safety net")
    parser.add_argument("--evaluate", action="store_true", help="measure on tests/emergency/*.txt")
    parser.add_argument("--lexicon", default=DEFAULT_LEXICON)
    parser.add_argument("--no-voikko", action="store_true", help="match on word stems only")
    parser.add_argument("messages", nargs="*", help="messages to check")
    args = parser.parse_args(argv)
    matcher = EmergencyMatcher.from_file(args.lexicon, use_voikko=not args.no_voikko)
    if args.evaluate:
        print(f"lexicon {args.lexicon}: {matcher.rule_count} rules, Voikko {matcher.lemmatizer.available}")
        result = evaluate(matcher)
        _report("with Voikko" if matcher.lemmatizer.available else "stems only", result)
        if matcher.lemmatizer.available and not args.no_voikko:
            stems_only = EmergencyMatcher.from_file(args.lexicon, use_voikko=False)
            _report("stems only (libvoikko missing)", evaluate(stems_only))
        return 0 if result.recall == 1.0 and result.false_alarm_rate <= 0.01 else 1
    for message in args.messages or [line.rstrip("\n") for line in sys.stdin]:
        found = matcher.detect(message)
        print(f"{found.level if found else '-'}\t{found.rule if found else ''}\t{message}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
