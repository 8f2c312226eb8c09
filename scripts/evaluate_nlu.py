"""Measure a pipeline on the held-out messages: per-intent P/R/F1, route accuracy, emergencies.

The held-out files (``tests/heldout/*.yml``, one per independently written
set) are never trained on. Each message has the expected
``intent`` and ``route`` ("team:neuvola", "omaolo:ear_pain", "webpage:client_fees",
"form:contact_request", "emergency:112" or "none"). The route of a prediction
comes from the model's NLU and ``actions.routing.decide_route``, compared by id.

    # evaluate the trained model
    .venv/bin/python scripts/evaluate_nlu.py --model models/opastin.tar.gz --name current
    # train an NLU model from a config first (training time is reported too)
    .venv/bin/python scripts/evaluate_nlu.py --config configs/nlu_b_spacy.yml --name B
    # also 5-fold cross-validation on the training data (slow: five trainings)
    .venv/bin/python scripts/evaluate_nlu.py --config configs/nlu_b_spacy.yml --name B --cross-validation

Writes ``results/nlu/<name>/``: ``heldout_nlu.yml`` (the messages in Rasa NLU
format, for ``rasa test nlu``), ``report.json``, ``report.md`` and ``errors.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import re
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from actions.routes_config import RouteTable, default_routes  # noqa: E402
from actions.routing import (  # noqa: E402
    FALLBACK_INTENT,
    Route,
    clarify_options,
    decide_route,
    resolve_fallback,
)
from rasa_addons.emergency_rules import read_emergency_list, read_message_list  # noqa: E402

HELDOUT_SETS = sorted((ROOT / "tests" / "heldout").glob("*.yml"))
EMERGENCY_LIST = ROOT / "tests" / "emergency" / "emergency.txt"
NON_EMERGENCY_LIST = ROOT / "tests" / "emergency" / "non_emergency.txt"
MAX_FALSE_ALARM_RATE = 0.01
RASA = ROOT / ".venv" / "bin" / "rasa"


@dataclass(frozen=True)
class Sample:
    """One held-out message and what it should lead to."""

    text: str
    intent: str
    route: str
    source: str = ""


@dataclass(frozen=True)
class Prediction:
    """What the model and the routing made of one message."""

    intent: str
    route: str
    confidence: float
    clarifying_routes: tuple[str, ...] = ()


def load_samples(path: Path) -> list[Sample]:
    """Read the held-out messages; fail with the file and index on a malformed entry."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    samples = []
    for index, item in enumerate(raw.get("messages") or []):
        if not all(isinstance(item.get(key), str) for key in ("text", "intent", "route")):
            raise ValueError(f"{path}: messages[{index}]: needs text, intent and route")
        samples.append(Sample(item["text"], item["intent"], item["route"], path.name))
    return samples


def route_id(route: Route | None) -> str:
    """The comparable id of a route: type and team/page/symptom/form/level id, not URLs."""
    if route is None:
        return "none"
    if route.type == "omaolo":
        return f"omaolo:{route.extra['symptom']}"
    if route.type == "webpage":
        return f"webpage:{route.extra['page']}"
    return f"{route.type}:{route.target}"


def write_rasa_nlu(samples: Sequence[Sample], path: Path) -> None:
    """Write the messages as Rasa NLU training-data YAML (for ``rasa test nlu``)."""
    by_intent: dict[str, list[str]] = {}
    for sample in samples:
        by_intent.setdefault(sample.intent, []).append(sample.text)
    nlu = [
        {
            "intent": intent,
            "examples": "".join(f"- {json.dumps(text, ensure_ascii=False)}\n" for text in texts),
        }
        for intent, texts in sorted(by_intent.items())
    ]

    class _Literal(str):
        pass

    yaml.add_representer(
        _Literal, lambda dumper, data: dumper.represent_scalar("tag:yaml.org,2002:str", data, "|")
    )
    for item in nlu:
        item["examples"] = _Literal(item["examples"])
    path.write_text(
        yaml.dump({"version": "3.1", "nlu": nlu}, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )


def train_nlu(config: Path, out: Path) -> tuple[Path, float]:
    """Train an NLU-only model from ``config`` on ``data/``; return the model and wall-clock seconds."""
    out.mkdir(parents=True, exist_ok=True)
    command = [
        str(RASA),
        "train",
        "nlu",
        "--config",
        str(config),
        "--nlu",
        str(ROOT / "data" / "nlu"),
        "--out",
        str(out),
        "--fixed-model-name",
        "nlu",
        "--quiet",
    ]
    started = time.monotonic()
    subprocess.run(command, cwd=ROOT, env=_env(), check=True, stdout=subprocess.DEVNULL)
    return out / "nlu.tar.gz", time.monotonic() - started


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(RASA_TELEMETRY_ENABLED="false", TF_CPP_MIN_LOG_LEVEL="2", SQLALCHEMY_SILENCE_UBER_WARNING="1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


async def _parse_all(model: Path, texts: Sequence[str]) -> list[dict[str, Any]]:
    from rasa.core.agent import Agent
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)  # Rasa's debug log would print every message
    agent = Agent.load(str(model))
    return [await agent.parse_message(text) for text in texts]


def load_safety_lists(emergency: Path = EMERGENCY_LIST, everyday: Path = NON_EMERGENCY_LIST) -> list[Sample]:
    """The safety net's own lists as samples: ``emergency:<level>`` routes and everyday messages."""
    return [
        *(Sample(text, "emergency", f"emergency:{level}") for level, text in read_emergency_list(emergency)),
        *(Sample(text, "everyday", "not-emergency") for text in read_message_list(everyday)),
    ]


def safety_score(samples: Sequence[Sample], predictions: Sequence[Prediction]) -> dict[str, Any]:
    """The whole model's emergency recall, level accuracy and false alarms on the safety-net lists."""
    pairs = list(zip(samples, predictions, strict=True))
    emergencies = [(s, p) for s, p in pairs if s.intent == "emergency"]
    caught = [s.text for s, p in emergencies if p.route.startswith("emergency:")]
    everyday = [(s, p) for s, p in pairs if s.intent != "emergency"]
    alarms = [s.text for s, p in everyday if p.route.startswith("emergency:")]
    return {
        "emergencies": len(emergencies),
        "recall": len(caught) / len(emergencies),
        "level_accuracy": sum(p.route == s.route for s, p in emergencies) / len(emergencies),
        "everyday_messages": len(everyday),
        "false_alarms": len(alarms),
        "false_alarm_rate": len(alarms) / len(everyday),
        "missed": [s.text for s, p in emergencies if not p.route.startswith("emergency:")],
        "alarms": alarms,
    }


def predict(model: Path, samples: Sequence[Sample], routes: RouteTable) -> list[Prediction]:
    """Parse every message with the model's NLU and route it as action_route/action_handle_fallback do."""
    parsed = asyncio.run(_parse_all(model, [s.text for s in samples]))
    predictions = []
    for sample, parse in zip(samples, parsed, strict=True):
        intent = (parse.get("intent") or {}).get("name") or "none"
        ranking = parse.get("intent_ranking") or []
        routed = resolve_fallback(intent, ranking, routes, sample.text)
        route = decide_route(routed, sample.text, parse.get("entities") or [], routes)
        predictions.append(
            Prediction(
                intent,
                route_id(route),
                float(parse["intent"].get("confidence") or 0.0),
                clarifying_routes(routed, ranking, routes),
            )
        )
    return predictions


def clarifying_routes(
    intent: str, ranking: Sequence[Mapping[str, Any]], routes: RouteTable
) -> tuple[str, ...]:
    """The routes the clarifying question's topic buttons lead to (none unless the model fell back).

    A button sends ``/<intent>`` as the message, so a symptom button leads to
    Omaolo's front page, not to a deep link.
    """
    if intent != FALLBACK_INTENT:
        return ()
    options = clarify_options(ranking, routes)
    return tuple(route_id(decide_route(option, f"/{option}", [], routes)) for _, option in options)


def score(samples: Sequence[Sample], predictions: Sequence[Prediction]) -> dict[str, Any]:
    """Per-intent precision/recall/F1, accuracy, route accuracy and emergency recall/false alarms."""
    from sklearn.metrics import precision_recall_fscore_support

    truth = [s.intent for s in samples]
    guess = [p.intent for p in predictions]
    labels = sorted(set(truth))
    precision, recall, f1, support = precision_recall_fscore_support(
        truth, guess, labels=labels, zero_division=0
    )
    per_intent = {
        label: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(n)}
        for label, p, r, f, n in zip(labels, precision, recall, f1, support, strict=True)
    }
    macro = {
        key: sum(v[key] for v in per_intent.values()) / len(per_intent)
        for key in ("precision", "recall", "f1")
    }
    emergencies = [
        p.route.startswith("emergency:")
        for s, p in zip(samples, predictions, strict=True)
        if s.route.startswith("emergency:")
    ]
    alarms = [
        p.route.startswith("emergency:")
        for s, p in zip(samples, predictions, strict=True)
        if not s.route.startswith("emergency:")
    ]
    return {
        "messages": len(samples),
        "intent_accuracy": sum(t == g for t, g in zip(truth, guess, strict=True)) / len(samples),
        "route_accuracy": sum(s.route == p.route for s, p in zip(samples, predictions, strict=True))
        / len(samples),
        "route_accuracy_with_clarification": sum(
            s.route in (p.route, *p.clarifying_routes) for s, p in zip(samples, predictions, strict=True)
        )
        / len(samples),
        "macro": macro,
        "per_intent": per_intent,
        "emergency_recall": sum(emergencies) / len(emergencies) if emergencies else None,
        "emergency_false_alarm_rate": sum(alarms) / len(alarms) if alarms else None,
    }


def per_set(samples: Sequence[Sample], predictions: Sequence[Prediction]) -> dict[str, dict[str, Any]]:
    """Intent and route accuracy of each held-out file on its own."""
    sets: dict[str, dict[str, Any]] = {}
    for sample, prediction in zip(samples, predictions, strict=True):
        figures = sets.setdefault(sample.source, {"messages": 0, "intents_right": 0, "routes_right": 0})
        figures["messages"] += 1
        figures["intents_right"] += sample.intent == prediction.intent
        figures["routes_right"] += sample.route == prediction.route
    for figures in sets.values():
        figures["intent_accuracy"] = figures["intents_right"] / figures["messages"]
        figures["route_accuracy"] = figures["routes_right"] / figures["messages"]
    return sets


def cross_validate(config: Path, out: Path, folds: int = 5) -> dict[str, float]:
    """``rasa test nlu --cross-validation`` on the training data; the mean test-fold intent scores."""
    out.mkdir(parents=True, exist_ok=True)
    command = [
        str(RASA),
        "test",
        "nlu",
        "--nlu",
        str(ROOT / "data" / "nlu"),
        "--config",
        str(config),
        "--cross-validation",
        "--folds",
        str(folds),
        "--out",
        str(out),
    ]
    log = subprocess.run(command, cwd=ROOT, env=_env(), check=True, capture_output=True, text=True)
    text = log.stdout + log.stderr
    section = text[text.index("Intent evaluation results") :] if "Intent evaluation results" in text else text
    found = {}
    for metric in ("Accuracy", "F1-score", "Precision"):
        match = re.search(rf"test {metric}: ([0-9.]+) \(([0-9.]+)\)", section)
        if match:
            found[metric.lower()] = float(match.group(1))
            found[f"{metric.lower()}_std"] = float(match.group(2))
    return found


def markdown(name: str, report: Mapping[str, Any]) -> str:
    """A markdown summary: overall figures and the per-intent table."""
    lines = [f"# NLU evaluation: {name}", ""]
    lines.append(f"- model: `{report['model']}`")
    if report.get("training_seconds") is not None:
        lines.append(f"- training time (NLU only): {report['training_seconds']:.0f} s")
    lines += [
        f"- held-out messages: {report['messages']}",
        f"- intent accuracy: {report['intent_accuracy']:.3f}",
        f"- route accuracy: {report['route_accuracy']:.3f} "
        f"(right route, or one click away on the clarifying question: "
        f"{report['route_accuracy_with_clarification']:.3f})",
        "- macro precision / recall / F1: {precision:.3f} / {recall:.3f} / {f1:.3f}".format(
            **report["macro"]
        ),
    ]
    for source, figures in report.get("sets", {}).items():
        count = figures["messages"]
        lines.append(
            f"  - `{source}`: {count} messages, intent accuracy {figures['intent_accuracy']:.3f}, "
            f"route accuracy {figures['route_accuracy']:.3f} ({figures['routes_right']}/{count})"
        )
    if "safety_lists" in report:
        safety = report["safety_lists"]
        lines.append(
            f"- safety-net lists through the whole model: emergency recall {safety['recall']:.3f} "
            f"({safety['emergencies']} phrasings, level right {safety['level_accuracy']:.3f}), "
            f"false alarms {safety['false_alarms']}/{safety['everyday_messages']} "
            f"({safety['false_alarm_rate']:.3f})"
        )
    if report.get("emergency_recall") is not None:
        lines.append(
            f"- emergency recall: {report['emergency_recall']:.3f}, "
            f"false alarms: {report['emergency_false_alarm_rate']:.3f}"
        )
    if report.get("cross_validation"):
        cv = report["cross_validation"]
        lines.append(
            f"- 5-fold CV (training data) intent F1: {cv.get('f1-score', float('nan')):.3f} "
            f"(± {cv.get('f1-score_std', float('nan')):.3f})"
        )
    lines += ["", "| intent | precision | recall | F1 | n |", "|---|---:|---:|---:|---:|"]
    for intent, row in report["per_intent"].items():
        scores = " | ".join(f"{row[key]:.2f}" for key in ("precision", "recall", "f1"))
        lines.append(f"| {intent} | {scores} | {row['support']} |")
    return "\n".join(lines) + "\n"


def errors_markdown(samples: Sequence[Sample], predictions: Sequence[Prediction]) -> str:
    """Every message whose intent or route was wrong."""
    lines = [
        "| set | text | expected intent | predicted | expected route | predicted route |",
        "|---|---|---|---|---|---|",
    ]
    for sample, prediction in zip(samples, predictions, strict=True):
        if sample.intent != prediction.intent or sample.route != prediction.route:
            text = sample.text.replace("|", "\\|").replace("\n", " ")[:120]
            cells = [
                sample.source, text, sample.intent, f"{prediction.intent} ({prediction.confidence:.2f})",
                sample.route, prediction.route,
            ]  # fmt: skip
            lines.append(f"| {' | '.join(cells)} |")
    return "\n".join(lines) + "\n"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--model", type=Path, help="a trained model (.tar.gz)")
    source.add_argument("--config", type=Path, help="a config.yml to train an NLU model from first")
    parser.add_argument("--name", required=True, help="name of the run, e.g. A or B (results/nlu/<name>/)")
    parser.add_argument(
        "--heldout", type=Path, nargs="+", default=HELDOUT_SETS, help="held-out message files (default: all)"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "nlu", help="where reports go")
    parser.add_argument("--cross-validation", action="store_true", help="also run 5-fold CV (needs --config)")
    parser.add_argument(
        "--check-safety",
        action="store_true",
        help="exit 1 unless every emergency on the safety-net lists is caught with at most 1 %% false alarms",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Evaluate, print the summary and write the reports."""
    args = parse_args(argv)
    out = args.out / args.name
    out.mkdir(parents=True, exist_ok=True)
    samples = [sample for path in args.heldout for sample in load_samples(path)]
    write_rasa_nlu(samples, out / "heldout_nlu.yml")
    seconds = None
    model = args.model
    if args.config is not None:
        model, seconds = train_nlu(args.config, out / "model")
    safety_samples = load_safety_lists()
    everything = predict(model, [*samples, *safety_samples], default_routes())
    predictions = everything[: len(samples)]
    report = {
        "name": args.name,
        "model": str(model),
        "training_seconds": seconds,
        **score(samples, predictions),
        "sets": per_set(samples, predictions),
        "safety_lists": safety_score(safety_samples, everything[len(samples) :]),
    }
    if args.cross_validation:
        if args.config is None:
            raise SystemExit("--cross-validation needs --config")
        report["cross_validation"] = cross_validate(args.config, out / "crossval")
    (out / "report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
    summary = markdown(args.name, report)
    (out / "report.md").write_text(summary, encoding="utf-8")
    (out / "errors.md").write_text(errors_markdown(samples, predictions), encoding="utf-8")
    print(summary)
    print(f"Reports in {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}/")
    safety = report["safety_lists"]
    if args.check_safety and (safety["recall"] < 1.0 or safety["false_alarm_rate"] > MAX_FALSE_ALARM_RATE):
        print(f"Safety targets missed: missed {safety['missed']}, false alarms {safety['alarms']}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
