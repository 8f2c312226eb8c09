"""Settings from the environment and the service API token."""

import stat
from pathlib import Path

from handoff.settings import PROJECT_ROOT, Settings, load_api_token, normalise_database_url


def test_defaults_live_under_var(tmp_path: Path) -> None:
    settings = Settings.from_env({})
    assert settings.var_dir == PROJECT_ROOT / "var"
    assert settings.database_url == f"sqlite:///{PROJECT_ROOT / 'var' / 'handoff.db'}"
    assert settings.max_body_bytes == 65536


def test_postgres_urls_are_accepted() -> None:
    assert normalise_database_url("postgres://u:p@h/db") == "postgresql://u:p@h/db"
    assert normalise_database_url("postgresql://u:p@h/db") == "postgresql://u:p@h/db"
    assert Settings.from_env({"DATABASE_URL": "postgres://h/db"}).database_url == "postgresql://h/db"


def test_token_is_generated_once_with_mode_0600(tmp_path: Path) -> None:
    settings = Settings.from_env({"HANDOFF_VAR_DIR": str(tmp_path / "var")})
    token = load_api_token(settings)
    path = tmp_path / "var" / "handoff-api-token"
    assert len(token) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_api_token(settings) == token
    assert [p.name for p in path.parent.iterdir()] == ["handoff-api-token"]


def test_token_from_the_environment_wins(tmp_path: Path) -> None:
    settings = Settings.from_env({"HANDOFF_VAR_DIR": str(tmp_path), "HANDOFF_API_TOKEN": "s3cret"})
    assert load_api_token(settings) == "s3cret"
    assert not (tmp_path / "handoff-api-token").exists()


def test_settings_module_does_not_import_fastapi() -> None:
    import subprocess
    import sys

    code = "import sys, handoff.settings; sys.exit('fastapi' in sys.modules or 'sqlalchemy' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT).returncode == 0
