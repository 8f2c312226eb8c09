"""Train the Rasa model when, and only when, its inputs changed.

The fingerprint is a SHA-256 over everything training reads: ``config.yml``,
``domain.yml``, the files under ``data/`` and the project's own Rasa components
(``rasa_addons/``, ``opastin/``), but not the content read only at run time (the
team catalogue, the route table, the message catalogue): editing those needs a
restart, not three minutes of training. It is stored next to the model; ``make run`` and
``make test`` call this script, so a second start skips training.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.make_noisy_data import main as refresh_typing_noise  # noqa: E402

MODEL = ROOT / "models" / "opastin.tar.gz"
FINGERPRINT = ROOT / "models" / "opastin.fingerprint"
TRAINING_INPUTS = ("config.yml", "domain.yml", "data", "rasa_addons", "opastin")
# Content read only at run time: editing it needs a restart, never a new model.
RUN_TIME_CONTENT = ("data/teams.yml", "data/routes.yml", "data/messages")


def input_files() -> list[Path]:
    """Every file training depends on, in a stable order."""
    files: list[Path] = []
    for name in TRAINING_INPUTS:
        path = ROOT / name
        if path.is_dir():
            files.extend(p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
        elif path.exists():
            files.append(path)
    return sorted(file for file in files if not _run_time_content(file))


def _run_time_content(path: Path) -> bool:
    relative = path.relative_to(ROOT).as_posix()
    return any(relative == name or relative.startswith(name + "/") for name in RUN_TIME_CONTENT)


def fingerprint() -> str:
    """SHA-256 over the relative paths and contents of the training inputs."""
    digest = hashlib.sha256()
    for path in input_files():
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def up_to_date(current: str) -> bool:
    """Whether the stored model was trained from exactly these inputs."""
    return MODEL.exists() and FINGERPRINT.exists() and FINGERPRINT.read_text().strip() == current


def train() -> int:
    """Run ``rasa train`` into ``models/opastin.tar.gz``; return its exit code."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
    # `--force` trains every component anew, so Rasa's training cache is never read; writing it
    # cost over a gigabyte of disk writes per training.
    env.setdefault("RASA_MAX_CACHE_SIZE", "0")
    command = [
        str(ROOT / ".venv" / "bin" / "rasa"),
        "train",
        "--fixed-model-name",
        "opastin",
        "--out",
        "models",
        "--force",
        "--quiet",
    ]
    log = ROOT / "var" / "log" / "train.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as output:
        return subprocess.run(command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT).returncode


def main() -> int:
    """Refresh the generated typing-noise examples, train if needed and say what happened."""
    refresh_typing_noise([])
    current = fingerprint()
    if up_to_date(current):
        print("==> Model is up to date (models/opastin.tar.gz)")
        return 0
    print("==> Training the model (about a minute on 2 cores; log in var/log/train.log)", flush=True)
    started = time.monotonic()
    code = train()
    if code != 0 or not MODEL.exists():
        print("Training failed. Last lines of var/log/train.log:", file=sys.stderr)
        lines = (ROOT / "var" / "log" / "train.log").read_text(errors="replace").splitlines()
        print("\n".join(lines[-30:]), file=sys.stderr)
        return 1
    FINGERPRINT.write_text(current + "\n")
    print(f"==> Model trained in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\nTraining interrupted; the previous model (if any) is kept.", file=sys.stderr)
        sys.exit(130)
