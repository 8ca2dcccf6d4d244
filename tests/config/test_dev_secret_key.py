"""`make run` gives each checkout a SECRET_KEY of its own in `.env` (issue 14, item 11): development no longer
signs sessions and tokens (JWT_SIGNING_KEY defaults to it) with the public default in config/settings.py."""

import os
import stat
import subprocess
import sys
from pathlib import Path

from realtime_chat.core.dev_secret_key import secret_key_ensure

ROOT = Path(__file__).resolve().parents[2]
DEVELOPMENT: dict[str, str] = {}


def secret_key_in(path: Path) -> str:
    (line,) = [line for line in path.read_text().splitlines() if line.startswith("SECRET_KEY=")]
    return line.removeprefix("SECRET_KEY=")


def test_a_checkout_without_env_gets_a_random_key_only_its_owner_can_read(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    assert secret_key_ensure(env_file, DEVELOPMENT).startswith("generated")
    key = secret_key_in(env_file)
    assert len(key) >= 50 and "insecure" not in key
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    assert secret_key_ensure(env_file, DEVELOPMENT) == "SECRET_KEY is set"
    assert secret_key_in(env_file) == key  # once per checkout: sessions and tokens survive the next `make run`


def test_each_checkout_gets_its_own(tmp_path: Path) -> None:
    first, second = tmp_path / "a.env", tmp_path / "b.env"
    secret_key_ensure(first, DEVELOPMENT)
    secret_key_ensure(second, DEVELOPMENT)
    assert secret_key_in(first) != secret_key_in(second)


def test_a_copy_of_env_example_has_its_empty_line_filled_in(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text((ROOT / ".env.example").read_text())
    secret_key_ensure(env_file, DEVELOPMENT)
    assert secret_key_in(env_file)
    assert env_file.read_text().count("SECRET_KEY=") == 1
    assert "DEBUG=true" in env_file.read_text()  # the rest is left as it was


def test_a_key_already_set_is_kept(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("DEBUG=true\nSECRET_KEY='mine'\n")
    assert secret_key_ensure(env_file, DEVELOPMENT) == "SECRET_KEY is set"
    assert env_file.read_text() == "DEBUG=true\nSECRET_KEY='mine'\n"
    assert secret_key_ensure(tmp_path / "new.env", {"SECRET_KEY": "from-the-environment"}) == "SECRET_KEY is set"
    assert not (tmp_path / "new.env").exists()


def test_never_in_production(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("DJANGO_ENV=production\n")
    assert secret_key_ensure(env_file, DEVELOPMENT).startswith("production")
    assert secret_key_ensure(tmp_path / "other.env", {"DJANGO_ENV": "production"}).startswith("production")
    assert env_file.read_text() == "DJANGO_ENV=production\n"
    assert not (tmp_path / "other.env").exists()


def test_the_module_runs_as_make_run_calls_it(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if key not in {"SECRET_KEY", "DJANGO_ENV"}}
    result = subprocess.run(  # noqa: S603  (our own interpreter and module)
        [sys.executable, "-m", "realtime_chat.core.dev_secret_key", str(tmp_path / ".env")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=30, check=True,
    )  # fmt: skip
    assert result.stdout.startswith("generated")
    assert "secret-key" in (ROOT / "Makefile").read_text().split("\nrun:", 1)[1].split("\n", 1)[0]
