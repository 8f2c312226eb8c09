"""The generated typing-noise training data is current and built as documented."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.scripts_loader import load_script

noise = load_script("make_noisy_data")


def test_the_committed_file_is_what_the_training_data_gives() -> None:
    assert noise.main(["--check"]) == 0, "run .venv/bin/python scripts/make_noisy_data.py"


def test_each_example_gets_one_seeded_kind_of_noise(tmp_path: Path) -> None:
    (tmp_path / "a.yml").write_text(
        'version: "3.1"\nnlu:\n- intent: dental_care\n  examples: |\n    - Hammasta särkee kovasti\n'
        "    - hammaslääkäri [8](age) vuotiaalle\n- intent: emergency\n  examples: |\n    - rintakipu\n",
        encoding="utf-8",
    )
    examples = noise.examples_by_intent(tmp_path)
    assert examples == {("dental_care", ""): ["Hammasta särkee kovasti"]}  # no annotations, no emergency
    rendered = noise.render(examples)
    assert rendered.startswith("# GENERATED")
    assert noise.noisy("Hammasta särkee kovasti") in rendered
    assert noise.noisy("Hammasta särkee kovasti") == noise.noisy("Hammasta särkee kovasti")


def test_an_intents_metadata_stays_with_its_noisy_copies(tmp_path: Path) -> None:
    """Examples kept from the learned emergency detector stay kept from it when typed in a hurry."""
    (tmp_path / "a.yml").write_text(
        'version: "3.1"\nnlu:\n- intent: dental_care\n  metadata:\n    learned_detector: false\n'
        "  examples: |\n    - Hammasta särkee kovasti\n- intent: dental_care\n  examples: |\n"
        "    - viisaudenhammas on tulehtunut\n",
        encoding="utf-8",
    )
    rendered = noise.render(noise.examples_by_intent(tmp_path))
    parsed = yaml.safe_load(rendered)["nlu"]

    assert {"intent": "dental_care", "metadata": {"learned_detector": False}} in [
        {key: block[key] for key in ("intent", "metadata") if key in block} for block in parsed
    ]
    kept_from_detector = next(block for block in parsed if "metadata" in block)["examples"]
    assert noise.noisy("Hammasta särkee kovasti") in kept_from_detector
    assert noise.noisy("viisaudenhammas on tulehtunut") not in kept_from_detector
