"""The NLU evaluation measures what the gate needs under typing noise, and its gate fails as documented."""

from __future__ import annotations

from tests.scripts_loader import load_script

evaluate = load_script("evaluate_nlu")
Sample, Prediction = evaluate.Sample, evaluate.Prediction

HELD_OUT = [Sample("Hammasta särkee kovasti", "dental_care", "team:suun_terveydenhuolto", "set1.yml")]
SAFETY = [
    Sample("rintaa puristaa ja vasen käsi puutuu", "emergency", "emergency:112", "own"),
    Sample("Mistä saa uuden reseptin?", "everyday", "not-emergency", "own"),
]


def predict_all(batch):
    """Emergencies caught, everyday messages routed somewhere harmless; the texts are recorded."""
    seen.extend(sample.text for sample in batch)
    return [
        Prediction("emergency", "emergency:112", 1.0)
        if sample.intent == "emergency"
        else Prediction("dental_care", "team:suun_terveydenhuolto", 0.9)
        for sample in batch
    ]


seen: list[str] = []


def test_everyday_messages_are_measured_only_under_the_noise_asked_for():
    seen.clear()
    table = evaluate.perturbation_table(
        HELD_OUT, SAFETY, predict_all, ["clean", "swap", "hurried"], ["hurried"], ["hurried"]
    )
    own = {name: row["safety_lists"]["own"] for name, row in table.items()}
    assert [own[name]["emergencies"] for name in table] == [1, 1, 1]  # every phrasing, every noise
    assert [own[name]["everyday_messages"] for name in table] == [1, 0, 1]
    assert table["swap"]["sets"] == {}  # the held-out sets only under --heldout-perturb
    assert evaluate.safety_failures(table) == []
    assert "– · –" in evaluate.perturbation_markdown(table)


def test_a_missed_phrasing_fails_the_gate_as_written_and_below_the_recorded_floor_under_noise():
    def missing(batch):
        return [Prediction("greet", "none", 0.9) for _ in batch]

    table = evaluate.perturbation_table(HELD_OUT, SAFETY, missing, ["clean", "hurried"], ["hurried"])
    failures = evaluate.safety_failures(table, {"caught": {"hurried": {"own": 1}}})
    assert any(failure.startswith("clean/own: 0 caught") for failure in failures)
    assert not any(failure.startswith("hurried/own") for failure in failures)  # floor 1, less one slack
