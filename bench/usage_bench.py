"""How long the usage reports and the budget check take over a large history. Not a test; prints figures.

Seeds a scratch database (Django's test database for the configured DATABASE_URL: SQLite or PostgreSQL) with
--users users and --turns answers spread over --days days, then times, median of --runs:

- `/api/usage/` for one user over the last 30 days by hour (720 buckets) and by day;
- `/api/admin/usage/` (everyone, top users, providers, ingestion) over 30 days by day, and over 24 hours by hour;
- the budget check a turn makes before the model is called (one user's tokens today).

    DATABASE_URL= .venv/bin/python bench/usage_bench.py [--users 200] [--turns 200000] [--days 60] [--runs 5]
"""

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DJANGO_ENV", "test")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402


def seed(*, users: int, turns: int, days: int) -> list:
    from realtime_chat.accounts.models import User
    from realtime_chat.chat.models import ChatSession, Message

    people = User.objects.bulk_create(User(username=f"u{n}", email=f"u{n}@example.com") for n in range(users))
    sessions = ChatSession.objects.bulk_create(ChatSession(owner=person) for person in people)
    now, rng = datetime.now(UTC), random.Random(7)
    batch: list[Message] = []
    for _ in range(turns):
        index = min(int(rng.paretovariate(1.2)) - 1, users - 1)  # a few heavy users, many light ones
        first = rng.randint(80, 4000)
        batch.append(
            Message(
                session=sessions[index], role="assistant", asked_by=people[index], model=rng.choice(["a", "b"]),
                provider=rng.choice(["local", "remote"]), status=rng.choice(["complete"] * 18 + ["error", "cancelled"]),
                prompt_tokens=rng.randint(50, 1500), completion_tokens=rng.randint(1, 500), first_token_ms=first,
                total_ms=first + rng.randint(100, 20000), fallback_from=rng.choice([[]] * 19 + [["x: down"]]),
                sources=rng.choice([[], [{"number": 1}]]),
            )
        )  # fmt: skip
        if len(batch) == 5000:
            _flush(batch, now, days, rng)
    _flush(batch, now, days, rng)
    return people


def _flush(batch: list, now: datetime, days: int, rng: random.Random) -> None:
    from realtime_chat.chat.models import Message

    created = Message.objects.bulk_create(batch)
    for message in created:
        message.created_at = now - timedelta(seconds=rng.uniform(0, days * 86400))
    Message.objects.bulk_update(created, ["created_at"], batch_size=1000)
    batch.clear()


def timed(runs: int, call: Callable[[], object]) -> float:
    call()  # warm-up
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--turns", type=int, default=200_000)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    from realtime_chat.analytics.selectors import usage_range, usage_report, usage_report_admin
    from realtime_chat.chat.budget import token_budget_check

    setup_test_environment()
    name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        started = time.perf_counter()
        people = seed(users=args.users, turns=args.turns, days=args.days)
        with connection.cursor() as cursor:  # the planner's statistics, as autovacuum would have them
            cursor.execute("ANALYZE")
        print(f"{connection.vendor}: seeded {args.turns} answers of {args.users} users over {args.days} days "
              f"in {time.perf_counter() - started:.0f} s")  # fmt: skip
        now = datetime.now(UTC)
        heavy = people[0]
        from realtime_chat.chat.models import Message

        print(f"heaviest user: {Message.objects.filter(asked_by=heavy).count()} answers")
        month_hours = usage_range(start=now - timedelta(days=30), end=now, bucket="hour")
        month_days = usage_range(start=now - timedelta(days=30), end=now, bucket="day")
        day_hours = usage_range(start=now - timedelta(hours=24), end=now, bucket="hour")
        settings.CHAT_DAILY_TOKEN_BUDGET = 10**9
        rows = [
            ("usage, heaviest user, 30 days by hour", lambda: usage_report(period=month_hours, user=heavy)),
            ("usage, heaviest user, 30 days by day", lambda: usage_report(period=month_days, user=heavy)),
            ("admin usage, everyone, 30 days by day", lambda: usage_report_admin(period=month_days)),
            ("admin usage, everyone, 24 hours by hour", lambda: usage_report_admin(period=day_hours)),
            ("budget check of the heaviest user", lambda: token_budget_check(user=heavy)),
        ]
        for label, call in rows:
            print(f"{label:45} {timed(args.runs, call):8.1f} ms")
    finally:
        connection.creation.destroy_test_db(name, verbosity=0)


if __name__ == "__main__":
    main()
