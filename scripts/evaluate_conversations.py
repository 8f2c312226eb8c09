"""Replay multi-turn conversation sets against the real stack and say how many went as intended.

Starts Rasa (with its tracker API on loopback) and, per conversation clock, the
handoff service and the action server at that moment (:mod:`devtools.conversations`).
Prints, per set and in total: conversations fully right, turns right, repeated
replies and offers of a closed team; writes every turn of every conversation
that went wrong to ``test-results/conversations.md``.

    .venv/bin/python scripts/evaluate_conversations.py [SET.yml ...]

Without arguments: the blind sets in ``tests/heldout/conversations/``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devtools.conversations import ConversationResult, describe, run_sets  # noqa: E402
from devtools.stack import rasa_server  # noqa: E402

DEFAULT_SETS = sorted((ROOT / "tests" / "heldout" / "conversations").glob("set_*.yml"))
REPORT = ROOT / "test-results" / "conversations.md"


def summary_line(name: str, results: list[ConversationResult]) -> str:
    """``name: 61/72 conversations (84.7 %), 380/406 turns, 0 repeats, 0 closed-team offers``."""
    turns = [turn for result in results for turn in result.turns]
    right = sum(result.right for result in results)
    share = 100 * right / len(results) if results else 0.0
    repeats = sum(bool(turn.repeated) for turn in turns)
    closed = sum(bool(turn.closed_offers) for turn in turns)
    return (
        f"{name}: {right}/{len(results)} conversations fully right ({share:.1f} %), "
        f"{sum(turn.right for turn in turns)}/{len(turns)} turns right, "
        f"{repeats} repeated replies, {closed} offers of a closed team"
    )


def report(results: dict[Path, list[ConversationResult]]) -> str:
    """Markdown: the summary, then every conversation that went wrong or broke an invariant."""
    everything = [result for found in results.values() for result in found]
    lines = ["# Conversation runner", "", *(f"- {summary_line(p.name, r)}" for p, r in results.items())]
    lines += [f"- {summary_line('all', everything)}", ""]
    for result in everything:
        broken = [t for t in result.turns if not t.right or t.repeated or t.closed_offers]
        if not broken:
            continue
        conversation = result.conversation
        lines += [f"## {conversation.id} ({conversation.clock}) {conversation.situation}", ""]
        for turn in result.turns:
            mark = "ok" if turn.right else "MISS"
            lines.append(
                f"- **{mark}** `{turn.user}` expected `{dict(turn.expect)}`: {describe(turn.observed)}"
            )
            lines += [f"  - bot: {text}" for text in turn.observed.texts]
            lines += [f"  - REPEATED: {text}" for text in turn.repeated]
            lines += [f"  - CLOSED TEAM OFFERED: {team}" for team in turn.closed_offers]
        lines.append("")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("sets", nargs="*", type=Path, default=DEFAULT_SETS)
    parser.add_argument(
        "--workers", type=int, default=1, help="conversations replayed at once (each with its own sender)"
    )
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="opastin-conversations-") as tmp,
        rasa_server(tracker_api=True) as rasa,
    ):
        results = run_sets(
            rasa, args.sets, Path(tmp), progress=lambda line: print(line, flush=True), workers=args.workers
        )
    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text(report(results), encoding="utf-8")
    everything = [result for found in results.values() for result in found]
    for path, found in results.items():
        print(summary_line(path.name, found))
    print(summary_line("all", everything))
    print(f"details: {REPORT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
