"""Production settings: refuse to start without secrets, and pass Django's deployment checklist."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = {
    "DJANGO_ENV": "production",
    "SECRET_KEY": "x7Gq2mN9vR4tL8pZ1cW6yB3hJ5kD0fS2aE7uI9oP4lK6jH8gF1dQ3wX5zC7vB9nM",
    "ALLOWED_HOSTS": "chat.example.com",
    "DATABASE_URL": "postgres://chat:secret@db.example.com:5432/chat",
    "REDIS_URL": "redis://redis.example.com:6379/0",
}


def dotenv_names() -> set[str]:
    dotenv = ROOT / ".env"
    lines = dotenv.read_text().splitlines() if dotenv.exists() else []
    return {line.split("=", 1)[0].strip() for line in lines if "=" in line and not line.lstrip().startswith("#")}


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    # This process read the checkout's .env into its environment (django-environ does): none of it goes on.
    clean = {k: v for k, v in os.environ.items() if k not in {*PRODUCTION_ENV, *dotenv_names()}}
    return subprocess.run(  # noqa: S603  (our own manage.py)
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, "ENV_FILE": os.devnull, **env},  # the checkout's own .env (from `make run`) is not production's
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_passes_check_deploy_without_warnings() -> None:
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_secret_key_or_hosts() -> None:
    for missing in ("SECRET_KEY", "ALLOWED_HOSTS"):
        env = {k: v for k, v in PRODUCTION_ENV.items() if k != missing}
        result = manage("check", env=env)
        assert result.returncode != 0
        assert missing in result.stderr


def test_production_requires_postgresql_and_redis() -> None:
    sqlite = manage("check", env={**PRODUCTION_ENV, "DATABASE_URL": "sqlite:////tmp/x.db"})
    assert sqlite.returncode != 0
    assert "PostgreSQL" in sqlite.stderr
    no_redis = manage("check", env={**PRODUCTION_ENV, "REDIS_URL": ""})
    assert no_redis.returncode != 0
    assert "REDIS_URL" in no_redis.stderr


def test_production_static_files_hash_the_imports_inside_es_modules(tmp_path: Path) -> None:
    result = manage("collectstatic", "--noinput", env={**PRODUCTION_ENV, "STATIC_ROOT": str(tmp_path)})
    assert result.returncode == 0, result.stdout + result.stderr
    manifest = json.loads((tmp_path / "staticfiles.json").read_text())["paths"]
    main = (tmp_path / manifest["frontend/main.js"]).read_text()
    hashed_api = Path(manifest["frontend/api.js"]).name
    assert f'from "./{hashed_api}"' in main
    assert 'from "./api.js"' not in main
