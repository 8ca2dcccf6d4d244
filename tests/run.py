"""`make test`: run the suite on the embedded default, then again on PostgreSQL + Redis where they are reachable.

PostgreSQL and Redis are detected on 127.0.0.1 (or taken from TEST_DATABASE_URL / TEST_REDIS_URL). Extra
arguments go to pytest: `make test ARGS="-k login"` runs a subset on both passes.
"""

import os
import shlex
import subprocess
import sys

DEFAULT_POSTGRES = "postgres://postgres@127.0.0.1:5432/realtime_chat"
DEFAULT_REDIS = "redis://127.0.0.1:6379/15"  # a database of its own: tests flush it


def postgres_url() -> str | None:
    url = os.environ.get("TEST_DATABASE_URL") or DEFAULT_POSTGRES
    import psycopg

    dsn = url.replace("postgres://", "postgresql://", 1).rsplit("/", 1)[0] + "/postgres"
    try:
        psycopg.connect(dsn, connect_timeout=3).close()
    except psycopg.Error as exc:
        print(f"PostgreSQL not reachable at {dsn}: {exc}".strip())
        return None
    return url


def redis_url() -> str | None:
    url = os.environ.get("TEST_REDIS_URL") or DEFAULT_REDIS
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        print(f"Redis not reachable at {url}: {exc}")
        return None
    return url


def pytest(label: str, env: dict[str, str], args: list[str]) -> int:
    print(f"\n=== {label} ===", flush=True)
    command = [sys.executable, "-m", "pytest", *args]
    return subprocess.call(command, env={**os.environ, **env})  # noqa: S603  (our own interpreter and arguments)


def main() -> int:
    args = shlex.split(os.environ.get("ARGS", "")) + sys.argv[1:]
    postgres, redis = postgres_url(), redis_url()
    # TEST_REDIS_URL lets Redis-specific tests run in both passes; REDIS_URL switches the settings over.
    embedded = {"DATABASE_URL": "", "REDIS_URL": "", "TEST_REDIS_URL": redis or ""}
    code = pytest("embedded default: SQLite, in-memory channel layer, ORM broker", embedded, args)
    if postgres or redis:
        services = {"DATABASE_URL": postgres or "", "REDIS_URL": redis or "", "TEST_REDIS_URL": redis or ""}
        label = f"real services: {'PostgreSQL' if postgres else 'SQLite'} + {'Redis' if redis else 'no Redis'}"
        # The browser tests prove the UI once; everything that touches data or the broker runs again here.
        code = pytest(label, services, [*args, "-m", "not browser"]) or code
    else:
        print("\nNo PostgreSQL or Redis reachable: the second pass is skipped.")
    return code


if __name__ == "__main__":
    sys.exit(main())
