"""Settings from the environment and the service API token."""

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from handoff.settings import PROJECT_ROOT, Settings, SettingsError, load_api_token, normalise_database_url
from opastin.processes import free_port


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
    code = "import sys, handoff.settings; sys.exit('fastapi' in sys.modules or 'sqlalchemy' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT).returncode == 0


def test_origin_lists_are_written_as_browsers_send_origins() -> None:
    settings = Settings.from_env(
        {
            "HANDOFF_ALLOWED_ORIGINS": " HTTPS://Chat.Kunta.FI/ ,, https://chat.kunta.fi:443",
            "HANDOFF_FRAME_ANCESTORS": "https://www.kunta.fi,http://127.0.0.1:8080,http://[::1]:8080",
        }
    )
    assert settings.allowed_origins == ("https://chat.kunta.fi",)
    assert settings.frame_ancestors == ("https://www.kunta.fi", "http://127.0.0.1:8080", "http://[::1]:8080")
    assert Settings.from_env({}).frame_ancestors == ()


NOT_ORIGINS = [
    "www.kunta.fi",
    "https://www.kunta.fi/chat",
    "https://www.kunta.fi/?x=1",
    "https://*.kunta.fi",
    "*",
    "'self'",
    "ftp://www.kunta.fi",
    "https://user@www.kunta.fi",
    "https://www.kunta.fi:99999",
    "https://www.kunta.fi; script-src *",
    "https://www.äänekoski.fi",
]


@pytest.mark.parametrize("variable", ["HANDOFF_ALLOWED_ORIGINS", "HANDOFF_FRAME_ANCESTORS"])
@pytest.mark.parametrize("value", NOT_ORIGINS)
def test_anything_but_an_origin_is_refused_naming_the_variable_and_value(variable: str, value: str) -> None:
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({variable: f"https://ok.kunta.fi,{value}"})
    assert str(refused.value).startswith(f"{variable}: {value!r} is not an origin")


def test_settings_built_in_code_are_checked_too(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="HANDOFF_FRAME_ANCESTORS"):
        Settings(var_dir=tmp_path, database_url="sqlite://", teams_file=tmp_path, frame_ancestors=("*",))


def test_the_service_refuses_to_start_with_an_invalid_origin(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "HANDOFF_VAR_DIR": str(tmp_path),
        "HANDOFF_FRAME_ANCESTORS": "https://www.kunta.fi/chat",
    }
    command = [sys.executable, "-m", "handoff", "serve", "--port", str(free_port())]
    done = subprocess.run(command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "HANDOFF_FRAME_ANCESTORS: 'https://www.kunta.fi/chat' is not an origin" in done.stderr
    assert not (tmp_path / "handoff.db").exists()
