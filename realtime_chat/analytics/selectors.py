"""Usage figures, aggregated in the database over a bounded, indexed time range.

Turns are assistant messages (`Message.asked_by` says whose question each answered). Time to first token
percentiles are exact nearest-rank values computed with window functions (ROW_NUMBER and COUNT over the group),
which SQLite and PostgreSQL both run; no percentile function of one database is needed.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from django.db.models import (
    Count,
    DateTimeField,
    DurationField,
    ExpressionWrapper,
    F,
    Func,
    IntegerField,
    Q,
    QuerySet,
    Sum,
    Value,
    Window,
)
from django.db.models.functions import Coalesce, RowNumber, TruncDay, TruncHour

from rag.models import Document
from realtime_chat.accounts.models import User
from realtime_chat.chat.models import Message
from realtime_chat.llm.circuit_breaker import CircuitBreaker

Bucket = Literal["hour", "day"]
BUCKET_SIZE: dict[str, timedelta] = {"hour": timedelta(hours=1), "day": timedelta(days=1)}
MAX_BUCKETS = 750  # a month of hours, two years of days: bounded work and a bounded answer
TOP_USERS = 10
PERCENTILES = {"ttft_p50_ms": 50, "ttft_p95_ms": 95}
Figures = dict[str, Any]


@dataclass(frozen=True)
class UsageRange:
    start: datetime  # aligned to the bucket
    end: datetime  # exclusive
    bucket: Bucket

    def starts(self) -> list[datetime]:
        step, moment, found = BUCKET_SIZE[self.bucket], self.start, []
        while moment < self.end:
            found.append(moment)
            moment += step
        return found


def usage_range(*, start: datetime, end: datetime, bucket: Bucket) -> UsageRange:
    """`start` aligned down to its bucket. Raises ValueError for an empty or too long range."""
    if end <= start:
        raise ValueError("`to` must be after `from`.")
    start = start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    if bucket == "day":
        start = start.replace(hour=0)
    if (end - start) / BUCKET_SIZE[bucket] > MAX_BUCKETS:
        raise ValueError(f"At most {MAX_BUCKETS} buckets: choose a shorter range or `bucket=day`.")
    return UsageRange(start=start, end=end, bucket=bucket)


def _turns(*, period: UsageRange, user: User | None) -> QuerySet[Message]:
    turns = Message.objects.filter(
        role=Message.Role.ASSISTANT, created_at__gte=period.start, created_at__lt=period.end
    ).exclude(status=Message.Status.STREAMING)
    return turns if user is None else turns.filter(asked_by=user)


def _documents(*, period: UsageRange, user: User | None) -> QuerySet[Document]:
    documents = Document.objects.filter(ingested_at__gte=period.start, ingested_at__lt=period.end)
    return documents if user is None else documents.filter(owner=user)


class BucketStart(Func):
    """The start of the UTC hour or day a datetime column falls in: TruncHour/TruncDay, except on SQLite, where
    Django's trunc is a Python function called for every row (5x slower over a month of hours, window functions
    included) while the column is UTC text (`YYYY-MM-DD HH:MM:SS.ffffff`) whose prefix is the bucket."""

    output_field = DateTimeField()

    def __init__(self, field: str, bucket: Bucket) -> None:
        super().__init__(F(field))
        self.bucket = bucket

    def as_sql(  # type: ignore[override]  # compiles another expression: no function or template of its own
        self, compiler: Any, connection: Any, **extra: Any
    ) -> Any:
        trunc = TruncHour if self.bucket == "hour" else TruncDay
        return compiler.compile(trunc(self.source_expressions[0], tzinfo=UTC).resolve_expression(compiler.query))

    def convert_value(self, value: Any, expression: Any, connection: Any) -> Any:
        """PostgreSQL's truncated UTC time comes back naive (SQLite's text is made aware by the backend)."""
        return value.replace(tzinfo=UTC) if isinstance(value, datetime) and value.tzinfo is None else value

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        sql, params = compiler.compile(self.source_expressions[0])
        length, rest = (13, ":00:00") if self.bucket == "hour" else (10, " 00:00:00")
        return f"(substr({sql}, 1, {length}) || '{rest}')", params


def _trunc(period: UsageRange, field: str) -> BucketStart:
    return BucketStart(field, period.bucket)


def _timed() -> Q:
    return Q(completion_tokens__gt=0, first_token_ms__isnull=False, total_ms__gt=F("first_token_ms"))


def _turn_sums() -> dict[str, Any]:
    """Named `sum_<figure>`: an aggregate named like a field (`completion_tokens`) would hide it from the next."""
    sums = {
        "turns": Count("id"),
        "prompt_tokens": Coalesce(Sum("prompt_tokens"), 0),
        "completion_tokens": Coalesce(Sum("completion_tokens"), 0),
        "errors": Count("id", filter=Q(status=Message.Status.ERROR)),
        "cancellations": Count("id", filter=Q(status=Message.Status.CANCELLED)),
        "fallbacks": Count("id", filter=~Q(fallback_from=[])),
        "answers_with_sources": Count("id", filter=~Q(sources=[])),
        # Tokens a second of generation (after the first token), over the turns that report both figures.
        "_streamed_tokens": Coalesce(Sum("completion_tokens", filter=_timed()), 0),
        "_streaming_ms": Coalesce(Sum(F("total_ms") - F("first_token_ms"), filter=_timed()), 0),
    }
    return {f"sum_{name}": aggregate for name, aggregate in sums.items()}


def _grouped_sums(turns: QuerySet[Message], group: Any) -> dict[Any, Figures]:
    if group is None:
        rows = [{"key": None, **turns.aggregate(**_turn_sums())}]
    else:
        rows = list(turns.annotate(key=group).values("key").annotate(**_turn_sums()).order_by("key"))
    return {row.pop("key"): {name.removeprefix("sum_"): value for name, value in row.items()} for row in rows}


def _grouped_percentiles(turns: QuerySet[Message], group: Any) -> dict[Any, Figures]:
    """Nearest-rank p50 and p95 of time to first token for each group: the value at rank ceil(p * n), both read
    in one query (the rows whose rank is either target)."""
    partition = None if group is None else [group]
    ranked = turns.filter(first_token_ms__isnull=False).annotate(
        key=group if group is not None else Value(None, output_field=IntegerField()),
        rank=Window(RowNumber(), partition_by=partition, order_by=[F("first_token_ms").asc(), F("id").asc()]),
        size=Window(Count("id"), partition_by=partition),
    )
    targets = Q()
    for percent in PERCENTILES.values():  # ceil(p * n / 100) in integer arithmetic, the same on both databases
        targets |= Q(rank=ExpressionWrapper((F("size") * percent + 99) / 100, output_field=IntegerField()))
    found: dict[Any, Figures] = {}
    for row in ranked.filter(targets).values("key", "rank", "size", "first_token_ms"):
        for name, percent in PERCENTILES.items():
            if row["rank"] == (row["size"] * percent + 99) // 100:
                found.setdefault(row["key"], {})[name] = row["first_token_ms"]
    return found


def _figures(sums: Figures, percentiles: Figures) -> Figures:
    figures = {name: value for name, value in sums.items() if not name.startswith("_")}
    streaming_ms = sums["_streaming_ms"]
    figures["tokens_per_second"] = round(sums["_streamed_tokens"] * 1000 / streaming_ms, 2) if streaming_ms else None
    for name in PERCENTILES:
        figures[name] = percentiles.get(name)
    return figures


def _turn_figures(turns: QuerySet[Message], group: Any) -> dict[Any, Figures]:
    sums, percentiles = _grouped_sums(turns, group), _grouped_percentiles(turns, group)
    return {key: _figures(value, percentiles.get(key, {})) for key, value in sums.items()}


def _ingestion(documents: QuerySet[Document], group: Any) -> dict[Any, Figures]:
    sums = {"documents_ingested": Count("id"), "chunks_ingested": Coalesce(Sum("chunk_count"), 0)}
    if group is None:
        return {None: documents.aggregate(**sums)}
    rows = documents.annotate(key=group).values("key").annotate(**sums).order_by("key")
    return {row.pop("key"): row for row in rows}


EMPTY_TURNS: Figures = {
    "turns": 0, "prompt_tokens": 0, "completion_tokens": 0, "errors": 0, "cancellations": 0, "fallbacks": 0,
    "answers_with_sources": 0, "tokens_per_second": None, "ttft_p50_ms": None, "ttft_p95_ms": None,
}  # fmt: skip
EMPTY_INGESTION: Figures = {"documents_ingested": 0, "chunks_ingested": 0}


def usage_report(*, period: UsageRange, user: User | None) -> Figures:
    """One user's usage (or everyone's, `user=None`): totals, one entry per bucket (empty ones included), and
    per model. Every count comes from the database; nothing is summed row by row here."""
    turns, documents = _turns(period=period, user=user), _documents(period=period, user=user)
    totals = {**_turn_figures(turns, None)[None], **_ingestion(documents, None)[None]}
    by_bucket = _turn_figures(turns, _trunc(period, "created_at"))
    ingested = _ingestion(documents, _trunc(period, "ingested_at"))
    buckets = [
        {"start": start, **by_bucket.get(start, EMPTY_TURNS), **ingested.get(start, EMPTY_INGESTION)}
        for start in period.starts()
    ]
    models = {str(model or "unknown"): figures for model, figures in _turn_figures(turns, F("model")).items()}
    return {"from": period.start, "to": period.end, "bucket": period.bucket, "totals": totals, "buckets": buckets,
            "models": models}  # fmt: skip


def usage_report_admin(*, period: UsageRange) -> Figures:
    """Everyone's usage, plus the top users by tokens, each provider's health and ingestion throughput."""
    report = usage_report(period=period, user=None)
    turns = _turns(period=period, user=None)
    report["top_users"] = _top_users(turns)
    breaker = CircuitBreaker()
    report["providers"] = {
        str(provider or "unknown"): {**_health(figures), "breaker_trips": breaker.trips(str(provider))}
        for provider, figures in _turn_figures(turns, F("provider")).items()
    }
    report["ingestion"] = _ingestion_throughput(_documents(period=period, user=None))
    return report


def _top_users(turns: QuerySet[Message]) -> list[Figures]:
    tokens = Coalesce(Sum("prompt_tokens"), 0) + Coalesce(Sum("completion_tokens"), 0)
    rows = (
        turns.filter(asked_by__isnull=False)
        .values(username=F("asked_by__username"))
        .annotate(turns=Count("id"), tokens=tokens, errors=Count("id", filter=Q(status=Message.Status.ERROR)))
        .order_by("-tokens", "username")[:TOP_USERS]
    )
    return list(rows)


def _health(figures: Figures) -> Figures:
    turns = figures["turns"]
    return {
        "turns": turns,
        "errors": figures["errors"],
        "error_rate": round(figures["errors"] / turns, 4) if turns else 0.0,
        "fallbacks": figures["fallbacks"],
        "ttft_p50_ms": figures["ttft_p50_ms"],
        "ttft_p95_ms": figures["ttft_p95_ms"],
    }


def _ingestion_throughput(documents: QuerySet[Document]) -> Figures:
    """Documents and chunks ingested in the range, and chunks a second over the time each document took from
    upload to ready (queueing included: what a user waits)."""
    figures = documents.aggregate(
        documents=Count("id"),
        chunks=Coalesce(Sum("chunk_count"), 0),
        waited=Sum(F("ingested_at") - F("created_at"), output_field=DurationField()),
    )
    waited: timedelta | None = figures.pop("waited")
    seconds = waited.total_seconds() if waited else 0.0
    figures["seconds"] = round(seconds, 3)
    figures["chunks_per_second"] = round(figures["chunks"] / seconds, 2) if seconds > 0 else None
    return figures
