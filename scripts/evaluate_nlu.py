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
import multiprocessing
import os
import re
import subprocess
import sys
import time
from collections.abc import Collection, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from actions.actions_conversation import (  # noqa: E402
    MIN_ANSWER_CONFIDENCE,
    MIN_FAQ_CONFIDENCE,
    next_routed_intent,
)
from actions.routing import (  # noqa: E402
    FALLBACK_INTENT,
    Route,
    answer_asked,
    answer_for,
    asks_to_be_contacted,
    clarify_options,
    decide_route,
    find_team,
    resolve_fallback,
)
from devtools.safety_lists import list_pairs  # noqa: E402
from devtools.stack import child_environment  # noqa: E402
from opastin.perturb import PERTURBATIONS, perturb  # noqa: E402
from opastin.routes import RouteTable, default_routes  # noqa: E402
from opastin.safety.lexicon import read_emergency_list, read_message_list  # noqa: E402

HELDOUT_SETS = sorted((ROOT / "tests" / "heldout").glob("set*.yml"))
RECORDED = ROOT / "tests" / "heldout" / "recorded.json"
# Processes that parse at once (each loads the model: about 1 GB of memory).
PARSE_WORKERS = min(os.cpu_count() or 1, 2)
# (emergency list, everyday list) pairs: the project's own lists and the blind ones (devtools.safety_lists).
SAFETY_LISTS = tuple((pair.emergencies, pair.everyday) for pair in list_pairs(gate=True))
MAX_FALSE_ALARM_RATE = 0.01  # certain emergency answers on everyday messages
MAX_QUESTION_RATE = 0.05  # safety questions on everyday messages
MAX_REGRESSION = 0.02  # route accuracy may not fall more than this below the recorded figures
NOISE_SLACK = 1  # phrasings per list and perturbation a retrained model may lose against the record
CLEAN = "clean"
CONFIRM_ROUTE = "emergency:confirm"
ANSWER_INTENT = "faq"
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
    also: tuple[str, ...] = ()


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
    subprocess.run(command, cwd=ROOT, env=child_environment(), check=True, stdout=subprocess.DEVNULL)
    return out / "nlu.tar.gz", time.monotonic() - started


async def _parse_all(model: Path, texts: Sequence[str]) -> list[dict[str, Any]]:
    from rasa.core.agent import Agent
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)  # Rasa's debug log would print every message
    agent = Agent.load(str(model))
    return [await agent.parse_message(text) for text in texts]


def _parse_chunk(model: Path, texts: Sequence[str]) -> list[dict[str, Any]]:
    """Parse ``texts`` in this process (a worker of :func:`parse_texts`); JSON-safe results."""
    return json.loads(json.dumps(asyncio.run(_parse_all(model, texts)), default=float))


def parse_texts(model: Path, texts: Sequence[str], workers: int = PARSE_WORKERS) -> list[dict[str, Any]]:
    """Rasa's parse of every text, each distinct text once, spread over ``workers`` processes.

    A parse depends on the text alone, and typing noise often leaves a text as
    it was (lowercase of a lowercase message), so about a third of the
    evaluation's messages repeat.
    """
    unique = list(dict.fromkeys(texts))
    workers = max(1, min(workers, len(unique) // 200 or 1))
    if workers == 1:
        parsed = asyncio.run(_parse_all(model, unique))
    else:
        chunks = [unique[start::workers] for start in range(workers)]
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            results = list(pool.map(_parse_chunk, [model] * workers, chunks))
        parsed = [results[index % workers][index // workers] for index in range(len(unique))]
    by_text = dict(zip(unique, parsed, strict=True))
    return [by_text[text] for text in texts]


def load_safety_lists(lists: Sequence[tuple[Path, Path]] = SAFETY_LISTS) -> list[Sample]:
    """The safety net's lists as samples: ``emergency:<level>`` routes and everyday messages."""
    samples = []
    for emergency, everyday in lists:
        if not emergency.exists():
            continue
        name = emergency.stem.replace("_emergency", "") if emergency.stem != "emergency" else "own"
        samples += [
            Sample(text, "emergency", f"emergency:{level}", name)
            for level, text in read_emergency_list(emergency)
        ]
        samples += [Sample(text, "everyday", "not-emergency", name) for text in read_message_list(everyday)]
    return samples


def is_alarm(route: str) -> bool:
    """A certain emergency answer (112, crisis line, 116 117, social emergency service)."""
    return route.startswith("emergency:") and route != CONFIRM_ROUTE


def route_right(sample: Sample, prediction: Prediction) -> bool:
    """The expected route (or one its answer stands for: the team offered after it, the page it links
    to), or for an emergency the safety question (its "yes" gives the guidance)."""
    if sample.route == prediction.route or sample.route in prediction.also:
        return True
    return sample.route.startswith("emergency:") and prediction.route == CONFIRM_ROUTE


def safety_score(samples: Sequence[Sample], predictions: Sequence[Prediction]) -> dict[str, Any]:
    """Emergency recall (certain or safety question), level accuracy, alarms and questions on everyday."""
    pairs = list(zip(samples, predictions, strict=True))
    emergencies = [(s, p) for s, p in pairs if s.intent == "emergency"]
    caught = [s.text for s, p in emergencies if p.route.startswith("emergency:")]
    everyday = [(s, p) for s, p in pairs if s.intent != "emergency"]
    alarms = [s.text for s, p in everyday if is_alarm(p.route)]
    questions = [s.text for s, p in everyday if p.route == CONFIRM_ROUTE]
    return {
        "emergencies": len(emergencies),
        "recall": len(caught) / len(emergencies) if emergencies else 1.0,
        "certain": sum(is_alarm(p.route) for _, p in emergencies),
        "level_accuracy": sum(p.route == s.route for s, p in emergencies) / len(emergencies)
        if emergencies
        else 1.0,
        "everyday_messages": len(everyday),
        "false_alarms": len(alarms),
        "false_alarm_rate": len(alarms) / len(everyday) if everyday else 0.0,
        "questions": len(questions),
        "question_rate": len(questions) / len(everyday) if everyday else 0.0,
        "missed": [s.text for s, p in emergencies if not p.route.startswith("emergency:")],
        "alarms": alarms,
        "asked": questions,
    }


def perturbed(samples: Sequence[Sample], name: str, seed: int = 0) -> list[Sample]:
    """The samples with the perturbation ``name`` applied (``clean``: as written)."""
    if name == CLEAN:
        return list(samples)
    return [Sample(perturb(s.text, name, seed), s.intent, s.route, s.source) for s in samples]


def wilson_interval(right: int, total: int, z: float = 1.96) -> tuple[float, float]:
    """The 95 % Wilson score interval of a proportion."""
    if total == 0:
        return (0.0, 1.0)
    p = right / total
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    half = z * ((p * (1 - p) / total + z * z / (4 * total * total)) ** 0.5) / (1 + z * z / total)
    return (max(0.0, centre - half), min(1.0, centre + half))


def answer_routes(topic: str, routes: RouteTable, team: str | None = None) -> tuple[str, tuple[str, ...]]:
    """An answer's route id and the routes it stands for: the team offered after it, its page."""
    answer = routes.answers[topic]
    team = team or answer.team
    also = [f"team:{team}"] if team else []
    also += [f"webpage:{answer.page}"] if answer.page else []
    return f"answer:{topic}", tuple(also)


def bot_route(text: str, parse: Mapping[str, Any], routes: RouteTable) -> tuple[str, tuple[str, ...], str]:
    """Route one parsed message as the action server does on a first message: a wish to be called back
    starts the form, a factual question gets its answer (and its team), an unsure answer is not given;
    returns the route id, the routes an answer stands for and the intent the routing used."""
    intent = (parse.get("intent") or {}).get("name") or "none"
    ranking = parse.get("intent_ranking") or []
    confidence = float((parse.get("intent") or {}).get("confidence") or 0.0)
    if intent not in ("emergency", "contact_request") and asks_to_be_contacted(text, routes):
        return "form:contact_request", (), intent
    if intent == ANSWER_INTENT:
        selected = ((parse.get("response_selector") or {}).get(ANSWER_INTENT) or {}).get("response") or {}
        topic = str(selected.get("intent_response_key") or "").partition("/")[2]
        selector_sure = float(selected.get("confidence") or 0.0) >= MIN_ANSWER_CONFIDENCE
        if topic in routes.answers and confidence >= MIN_FAQ_CONFIDENCE and selector_sure:
            route_id_, also = answer_routes(answer_for(topic, text, routes), routes, find_team(text, routes))
            return route_id_, also, intent
        runner_up = next_routed_intent(ranking, routes)
        if runner_up is None:
            return "none", (), FALLBACK_INTENT
        return route_id(decide_route(runner_up, text, parse.get("entities") or [], routes)), (), runner_up
    routed = resolve_fallback(intent, ranking, routes, text) or intent
    route = decide_route(routed, text, parse.get("entities") or [], routes)
    topic = answer_asked(text, routes)
    if topic is not None and (route is None or route.type in ("team", "webpage", "omaolo")):
        team = route.target if route is not None and route.type == "team" else None
        route_id_, also = answer_routes(topic, routes, team)
        return route_id_, also, routed
    return route_id(route), (), routed


def predict(model: Path, samples: Sequence[Sample], routes: RouteTable) -> list[Prediction]:
    """Parse every message with the model's NLU and route it as action_route/action_handle_fallback do."""
    parsed = parse_texts(model, [s.text for s in samples])
    predictions = []
    for sample, parse in zip(samples, parsed, strict=True):
        intent = (parse.get("intent") or {}).get("name") or "none"
        ranking = parse.get("intent_ranking") or []
        route, also, routed = bot_route(sample.text, parse, routes)
        predictions.append(
            Prediction(
                intent,
                route,
                float(parse["intent"].get("confidence") or 0.0),
                clarifying_routes(routed, ranking, routes),
                also,
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
        is_alarm(p.route)
        for s, p in zip(samples, predictions, strict=True)
        if not s.route.startswith("emergency:")
    ]
    return {
        "messages": len(samples),
        "intent_accuracy": sum(t == g for t, g in zip(truth, guess, strict=True)) / len(samples),
        "route_accuracy": sum(route_right(s, p) for s, p in zip(samples, predictions, strict=True))
        / len(samples),
        "route_accuracy_exact": sum(s.route == p.route for s, p in zip(samples, predictions, strict=True))
        / len(samples),
        "route_accuracy_with_clarification": sum(
            route_right(s, p) or s.route in p.clarifying_routes
            for s, p in zip(samples, predictions, strict=True)
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
        figures["routes_right"] += route_right(sample, prediction)
    for figures in sets.values():
        figures["intent_accuracy"] = figures["intents_right"] / figures["messages"]
        figures["route_accuracy"] = figures["routes_right"] / figures["messages"]
        figures["route_interval"] = wilson_interval(figures["routes_right"], figures["messages"])
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
    env = child_environment()
    log = subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True, text=True)
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
    for source, safety in report.get("safety_lists", {}).items():
        lines.append(
            f"- safety lists `{source}` through the whole model: emergencies caught "
            f"{safety['recall']:.3f} ({safety['emergencies']} phrasings, {safety['certain']} answered at "
            f"once, level right {safety['level_accuracy']:.3f}), everyday: {safety['false_alarms']}/"
            f"{safety['everyday_messages']} emergency answers, {safety['questions']} safety questions"
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
        "| set | text | expected intent | predicted | expected route | predicted route | route right |",
        "|---|---|---|---|---|---|---|",
    ]
    for sample, prediction in zip(samples, predictions, strict=True):
        if sample.intent != prediction.intent or sample.route != prediction.route:
            text = sample.text.replace("|", "\\|").replace("\n", " ")[:120]
            cells = [
                sample.source, text, sample.intent, f"{prediction.intent} ({prediction.confidence:.2f})",
                sample.route, prediction.route, "yes" if route_right(sample, prediction) else "**no**",
            ]  # fmt: skip
            lines.append(f"| {' | '.join(cells)} |")
    return "\n".join(lines) + "\n"


def perturbation_table(
    samples: Sequence[Sample],
    safety_samples: Sequence[Sample],
    predict_all: Any,
    names: Sequence[str],
    heldout_names: Collection[str] | None = None,
    everyday_names: Collection[str] | None = None,
) -> dict[str, dict[str, Any]]:
    """For each perturbation: route accuracy per held-out set and the safety figures per list.

    The held-out sets are measured under ``heldout_names`` only (default: every one of
    ``names``; the clean text always); the safety lists' emergencies under every one of
    ``names``, their everyday messages under ``everyday_names`` (default: every one; the clean
    text always).
    """
    table: dict[str, dict[str, Any]] = {}
    measured = set(names if heldout_names is None else [CLEAN, *heldout_names])
    everyday_measured = set(names if everyday_names is None else [CLEAN, *everyday_names])

    def safety_batch(name: str) -> list[Sample]:
        kept = [s for s in safety_samples if name in everyday_measured or s.intent == "emergency"]
        return perturbed(kept, name)

    batches = {
        name: (perturbed(samples, name) if name in measured else [], safety_batch(name)) for name in names
    }
    flat = [s for held, safety in batches.values() for s in (*held, *safety)]
    predictions = iter(predict_all(flat))
    for name, (held, safety) in batches.items():
        held_predictions = [next(predictions) for _ in held]
        safety_predictions = [next(predictions) for _ in safety]
        lists: dict[str, dict[str, Any]] = {}
        for source in dict.fromkeys(s.source for s in safety):
            pairs = [(s, p) for s, p in zip(safety, safety_predictions, strict=True) if s.source == source]
            lists[source] = safety_score([s for s, _ in pairs], [p for _, p in pairs])
        table[name] = {
            "predictions": held_predictions,
            "sets": per_set(held, held_predictions),
            "all_sets": score(held, held_predictions)["route_accuracy"] if held else None,
            "heldout_safety": safety_score(held, held_predictions) if held else None,
            "safety_lists": lists,
        }
    return table


NOT_MEASURED = "–"


def _figure(value: float | None) -> str:
    return NOT_MEASURED if value is None else f"{value:.3f}"


def _accuracy(figures: Mapping[str, Any] | None) -> str:
    return _figure(figures["route_accuracy"] if figures else None)


def perturbation_markdown(table: Mapping[str, Mapping[str, Any]]) -> str:
    """Tables: route accuracy per set and perturbation; safety figures per list and perturbation."""
    names = list(table)
    sets = list(next(iter(table.values()))["sets"])
    lines = ["## Typing noise (opastin/perturb.py, seed 0)", "", "Route accuracy per held-out set:", ""]
    lines += ["| set | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    for source in sets:
        cells = [_accuracy(table[n]["sets"].get(source)) for n in names]
        lines.append(f"| {source} | " + " | ".join(cells) + " |")
    lines.append("| all | " + " | ".join(_figure(table[n]["all_sets"]) for n in names) + " |")
    lines += [
        "",
        "Safety: emergencies caught (certain + safety question) / everyday alarms / everyday questions:",
        "",
    ]
    lists = list(next(iter(table.values()))["safety_lists"])
    lines += ["| list | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    rows = [(f"{name} lists", lambda t, name=name: t["safety_lists"][name]) for name in lists]
    rows.append(("held-out sets", lambda t: t["heldout_safety"]))
    for label, get in rows:
        cells = []
        for n in names:
            f = get(table[n])
            if f is None:  # the held-out sets were not measured under this perturbation
                cells.append(NOT_MEASURED)
                continue
            everyday = (
                f"{f['false_alarms']}/{f['everyday_messages']} · {f['questions']}"
                if f["everyday_messages"]
                else f"{NOT_MEASURED} · {NOT_MEASURED}"
            )
            cells.append(f"{f['emergencies'] - len(f['missed'])}/{f['emergencies']} · {everyday}")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def safety_failures(
    table: Mapping[str, Mapping[str, Any]], recorded: Mapping[str, Any] | None = None
) -> list[str]:
    """What breaks the safety targets (empty when all hold).

    Every phrasing must be caught as written; under typing noise no fewer than
    recorded when this gate was set (``recorded["caught"]``, less one: a retrained
    intent classifier may differ by one borderline guess); on the everyday
    lists at most 1 % emergency answers and 5 % safety questions, clean and noisy.
    """
    failures = []
    floors = (recorded or {}).get("caught", {})
    for name, row in table.items():
        for source, figures in row["safety_lists"].items():
            caught = figures["emergencies"] - len(figures["missed"])
            recorded_floor = floors.get(name, {}).get(source, 0) - NOISE_SLACK
            floor = figures["emergencies"] if name == CLEAN else recorded_floor
            if caught < floor:
                failures.append(f"{name}/{source}: {caught} caught, fewer than {floor}: {figures['missed']}")
            if figures["false_alarm_rate"] > MAX_FALSE_ALARM_RATE:
                failures.append(f"{name}/{source}: {figures['false_alarms']} emergency answers on everyday")
            if figures["question_rate"] > MAX_QUESTION_RATE:
                failures.append(f"{name}/{source}: {figures['questions']} safety questions on everyday")
    return failures


def regression_failures(table: Mapping[str, Mapping[str, Any]], recorded: Mapping[str, Any]) -> list[str]:
    """Held-out sets whose route accuracy fell more than 2 points below the recorded figure."""
    failures = []
    for name, sets in recorded.get("routes", {}).items():
        for source, floor in sets.items():
            figures = table.get(name, {}).get("sets", {}).get(source)
            if figures and figures["route_accuracy"] < floor - MAX_REGRESSION:
                failures.append(
                    f"{name}/{source}: route accuracy {figures['route_accuracy']:.3f} < {floor:.3f} - 0.02"
                )
    return failures


def recorded_figures(table: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The figures the regression gate keeps: route accuracy per set, phrasings caught per list."""
    return {
        "routes": {
            name: {source: round(v["route_accuracy"], 4) for source, v in row["sets"].items()}
            for name, row in table.items()
            if row["sets"]
        },
        "caught": {
            name: {source: v["emergencies"] - len(v["missed"]) for source, v in row["safety_lists"].items()}
            for name, row in table.items()
        },
    }


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
        "--perturb",
        nargs="*",
        metavar="NAME",
        help=f"also measure under typing noise (default: all of {', '.join(PERTURBATIONS)})",
    )
    parser.add_argument(
        "--heldout-perturb",
        nargs="+",
        metavar="NAME",
        help="typing noise for the held-out sets only (default: as --perturb); the safety lists' "
        "emergencies get every one of --perturb",
    )
    parser.add_argument(
        "--everyday-perturb",
        nargs="+",
        metavar="NAME",
        help="typing noise for the safety lists' everyday messages (default: as --perturb; the "
        "emergencies always get every one of --perturb)",
    )
    parser.add_argument(
        "--check-safety",
        action="store_true",
        help="exit 1 unless every safety phrasing is caught as written and no fewer than recorded "
        "under typing noise, with at most 1 %% emergency answers and 5 %% safety questions on the "
        "everyday lists",
    )
    parser.add_argument(
        "--check-regression",
        action="store_true",
        help=f"exit 1 if a held-out set's route accuracy falls 2 points below {RECORDED.relative_to(ROOT)}",
    )
    parser.add_argument(
        "--record", action="store_true", help=f"write the figures to {RECORDED.relative_to(ROOT)}"
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
    routes = default_routes()
    safety_samples = load_safety_lists()
    names = [CLEAN, *(args.perturb or PERTURBATIONS)] if args.perturb is not None else [CLEAN]
    table = perturbation_table(
        samples,
        safety_samples,
        lambda batch: predict(model, batch, routes),
        names,
        args.heldout_perturb,
        args.everyday_perturb,
    )
    clean_predictions = table[CLEAN]["predictions"]
    for row in table.values():
        del row["predictions"]
    report = {
        "name": args.name,
        "model": str(model),
        "training_seconds": seconds,
        **score(samples, clean_predictions),
        "sets": per_set(samples, clean_predictions),
        "safety_lists": table[CLEAN]["safety_lists"],
        "perturbations": table,
    }
    if args.cross_validation:
        if args.config is None:
            raise SystemExit("--cross-validation needs --config")
        report["cross_validation"] = cross_validate(args.config, out / "crossval")
    (out / "report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
    summary = markdown(args.name, report) + "\n" + perturbation_markdown(table)
    (out / "report.md").write_text(summary, encoding="utf-8")
    (out / "errors.md").write_text(errors_markdown(samples, clean_predictions), encoding="utf-8")
    print(summary)
    print(f"Reports in {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}/")
    if args.record:
        RECORDED.write_text(json.dumps(recorded_figures(table), indent=2) + "\n", encoding="utf-8")
    recorded = json.loads(RECORDED.read_text(encoding="utf-8")) if RECORDED.exists() else {}
    failures = safety_failures(table, recorded) if args.check_safety else []
    if args.check_regression:
        failures += regression_failures(table, recorded)
    for failure in failures:
        print(f"FAIL {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
