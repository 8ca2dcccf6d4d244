"""RAG benchmark: ingestion throughput and retrieval latency, printed as figures (not part of `make test`).

    python bench/rag_bench.py [--ingest-chunks 1000] [--backends onnx-int8 torch] [--sizes ...]

Runs against a throwaway SQLite database. Prints the CPU model, its int8 features and the load average. Ingestion
goes through the real pipeline (extraction, chunking, embedding, storing, the index refresh) with 256-token chunks,
once per backend in the same run, so their ratio holds on a busy machine; the encoding alone is timed too.
Latency is measured through
`retrieve_for_user` (scope lookup, query embedding, FAISS, BM25, fusion, chunk load) on synthetic filler
corpora (random vocabulary for BM25 and vectors mixed from real embeddings, inserted directly), for users who own
1 %, 5 %, 10 % and 25 % of the chunks, with the dense top 10 checked against an exact search of what each may see.
Each user's questions are timed one after another first, then the recall pass runs; its exact search reads every
allowed vector (hundreds of MB), so the question timed right after each such scan gives a third figure: retrieval
with the CPU caches emptied.
"""

import argparse
import os
import random
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SCRATCH = Path(tempfile.mkdtemp(prefix="rag-bench-"))
os.environ.update(
    DJANGO_SETTINGS_MODULE="config.settings",
    DJANGO_ENV="development",
    DEBUG="false",
    # RAG_BENCH_DATABASE keeps the database (and the synthetic corpus in it) for the next run
    DATABASE_URL=f"sqlite:///{os.environ.get('RAG_BENCH_DATABASE') or SCRATCH / 'bench.sqlite3'}",
    REDIS_URL="",
    VAR_DIR=str(SCRATCH),
    HF_HUB_OFFLINE="1",
    TRANSFORMERS_OFFLINE="1",
    TOKENIZERS_PARALLELISM="false",
    LOG_LEVEL="WARNING",
    # PyTorch's OpenMP threads sleep when idle, as ONNX Runtime's do here: CPU time then counts work, not spinning.
    OMP_WAIT_POLICY="PASSIVE",
)
os.environ.setdefault("RAG_MODEL_CACHE_DIR", str(ROOT / "var" / "models"))  # the exported model is derived once

import django  # noqa: E402  (the environment above must be set first)

django.setup()

import numpy as np  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.files.base import ContentFile  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import override_settings  # noqa: E402

from rag.ingestion.embed import get_embedder  # noqa: E402
from rag.ingestion.extract import extract  # noqa: E402
from rag.ingestion.index import IndexSnapshot, index_changes_record, index_rebuild, index_refresh  # noqa: E402
from rag.ingestion.parser_zygote import zygote  # noqa: E402
from rag.ingestion.pipeline import ingest_documents  # noqa: E402
from rag.models import Chunk, Document  # noqa: E402
from rag.retrieval.dense import dense_search  # noqa: E402
from rag.retrieval.retriever import retrieve_for_user  # noqa: E402
from rag.selectors import document_ids_searchable  # noqa: E402
from realtime_chat.accounts.models import User  # noqa: E402

rng = random.Random(7)
VOCABULARY = [
    "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(3, 10))) for _ in range(20000)
]
ENGLISH = [
    "the",
    "patient",
    "study",
    "results",
    "showed",
    "increased",
    "risk",
    "of",
    "disease",
    "after",
    "treatment",
    "drug",
    "adults",
    "children",
    "protein",
    "cell",
    "gene",
    "expression",
    "signal",
    "pathway",
    "receptor",
    "dose",
]


def filler(words: int) -> str:
    return " ".join(rng.choice(VOCABULARY) if rng.random() < 0.6 else rng.choice(ENGLISH) for _ in range(words))


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def cpu_description() -> str:
    """The CPU model and the int8 instructions ONNX Runtime's kernels can use (VNNI: 4x int8 dot products)."""
    model, flags = "unknown CPU", set()
    for line in Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").exists() else []:
        key, _, value = line.partition(":")
        if key.strip() == "model name" and model == "unknown CPU":
            model = value.strip()
        elif key.strip() == "flags" and not flags:
            flags = set(value.split())
    int8 = [f for f in ("avx2", "avx512bw", "avx512_vnni", "avx_vnni", "amx_int8") if f in flags] or ["none"]
    return f"{model}; int8 features: {' '.join(int8)}; CPUs available: {len(os.sched_getaffinity(0))}"


def cpu_seconds() -> float:
    """CPU time of this process, of its finished children and of the parser zygote with the parsing processes it
    forked: on a shared machine a rate per CPU-second holds where a rate per wall-clock second follows the
    neighbours' load."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime + zygote.cpu_seconds()


def load_average() -> str:
    return "load average " + " ".join(f"{value:.2f}" for value in os.getloadavg())


def bench_ingestion(user: User, target_chunks: int, backend: str) -> tuple[float, float]:
    """Chunks per wall-clock second through the pipeline and per CPU-second through the encoder alone."""
    with override_settings(RAG_EMBEDDING_BACKEND=backend):
        embedder = get_embedder()
        embedder.encode(["warm up"] * 8)
        warm_up = SCRATCH / "warm-up.txt"
        warm_up.write_text("The parser zygote starts once a process: not counted here.")
        extract(warm_up, "txt")
        # Paragraphs of exactly 240 model tokens: with the title prefix each chunk embeds ~250 tokens.
        paragraphs = [p for p in embedder.split(filler(60 * target_chunks), 240) if embedder.count([p])[0] >= 230]
        documents = []
        for number in range(max(target_chunks // 10, 1)):
            text = "\n\n".join(paragraphs[number * 10 : number * 10 + 10])
            document = Document(
                owner=user, title=f"Ingest {number}", kind="txt", size_bytes=len(text), sha256=f"{backend}-{number}"
            )
            document.file.save("bench.txt", ContentFile(text.encode()), save=False)
            document.save()
            documents.append(document)
        load = load_average()
        started, cpu_started = time.perf_counter(), cpu_seconds()
        ingest_documents(documents)
        seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu_started
        chunks = Chunk.objects.filter(document__in=documents)
        count = chunks.count()
        texts = list(chunks.values_list("text", flat=True))
        tokens = statistics.mean(chunks.values_list("token_count", flat=True))
        started, cpu_started = time.perf_counter(), cpu_seconds()
        embedder.encode(texts)
        encode_seconds, encode_cpu = time.perf_counter() - started, cpu_seconds() - cpu_started
        Document.objects.filter(pk__in=[d.pk for d in documents]).delete()
    print(
        f"ingestion, {backend:>9}: {count} chunks (mean {tokens:.0f} tokens + title) extracted, embedded, stored and "
        f"indexed in {seconds:.1f} s = {count / seconds:.1f} chunks/s ({count / cpu:.1f} per CPU-second); encoding "
        f"alone {count / encode_seconds:.1f} chunks/s ({count / encode_cpu:.1f} per CPU-second); {load} before"
    )
    return count / cpu, count / encode_cpu


def reranker_stand_in() -> Path:
    """A cross-encoder of the size of ms-marco-MiniLM-L-6-v2 (the packaged MiniLM-L6 encoder under a fresh
    one-logit head): its scores mean nothing, its cost per query is the real one. No package ships real weights."""
    from transformers import AutoTokenizer, BertForSequenceClassification

    from rag.conf import PACKAGED_MODEL
    from rag.ingestion.embed import _model_path

    directory = SCRATCH / "reranker-stand-in"
    source = _model_path(PACKAGED_MODEL)
    BertForSequenceClassification.from_pretrained(source, num_labels=1).save_pretrained(directory)
    AutoTokenizer.from_pretrained(source).save_pretrained(directory)
    return directory


def bench_reranker(path: Path, candidates: int, queries: int) -> None:
    """The reranker's added cost per query: `candidates` passages of ~240 tokens read with a ~12-token question."""
    from rag.retrieval.rerank import CrossEncoderReranker

    reranker = CrossEncoderReranker(path)
    embedder = get_embedder()
    passages = embedder.split(filler(120 * candidates), 240)[:candidates]
    reranker.scores("warm up", passages[:2])
    walls, cpus = [], []
    for _ in range(queries):
        question = " ".join([*rng.sample(ENGLISH, 6), *rng.sample(VOCABULARY, 2)])
        started, cpu_started = time.perf_counter(), cpu_seconds()
        reranker.scores(question, passages)
        walls.append((time.perf_counter() - started) * 1000)
        cpus.append((cpu_seconds() - cpu_started) * 1000)
    print(
        f"reranker ({path.name}), {len(passages)} passages a query: p50 {percentile(walls, 50):.0f} ms, "
        f"p99 {percentile(walls, 99):.0f} ms wall; {statistics.median(cpus):.0f} ms CPU a query ({load_average()})"
    )


BAND_SHARES = (0.01, 0.05, 0.10, 0.25)  # users owning these shares of the corpus: recall and latency for each
SHARED_SHARE = 0.01  # documents shared with everyone
FILLER_SHARE = 0.02  # the rest of the corpus belongs to users owning about this share each


def synthetic_corpus(size: int, bases: np.ndarray) -> tuple[list[User], dict[int, np.ndarray]]:
    """`size` chunks in documents of 100: users owning BAND_SHARES of them, SHARED_SHARE shared, the rest spread
    over users of FILLER_SHARE each. Returns the band users and every chunk's vector by chunk id. A corpus of that
    size already in the database (RAG_BENCH_DATABASE) is used again."""
    Document.objects.filter(title=f"Synthetic {size // 100}").delete()  # the last run's delta
    band_users = list(User.objects.filter(username__startswith="bench-owner-band-").order_by("username"))
    if len(band_users) == len(BAND_SHARES) and Chunk.objects.count() == size:
        stored = Chunk.objects.values_list("id", "vector").iterator(chunk_size=5000)
        return band_users, {chunk_id: np.frombuffer(bytes(vector), dtype=np.float32) for chunk_id, vector in stored}
    Chunk.objects.all().delete()
    Document.objects.all().delete()
    User.objects.filter(username__startswith="bench-owner").delete()
    documents = max(size // 100, 1)
    owners: list[int] = []
    band_users = []
    for number, share in enumerate(BAND_SHARES):
        user = User.objects.create(username=f"bench-owner-band-{number}", email=f"band-{number}@bench.invalid")
        band_users.append(user)
        owners += [user.pk] * max(round(share * documents), 1)
    shared_owner = User.objects.create(username="bench-owner-shared", email="shared@bench.invalid", is_staff=True)
    shared = max(round(SHARED_SHARE * documents), 1)
    owners += [shared_owner.pk] * shared
    rest = documents - len(owners)
    fillers = [
        User.objects.create(username=f"bench-owner-filler-{n}", email=f"filler-{n}@bench.invalid").pk
        for n in range(max(round(rest / max(FILLER_SHARE * documents, 1)), 1))
    ]
    owners += [fillers[n % len(fillers)] for n in range(rest)]
    order = np.random.default_rng(3).permutation(len(owners))  # owners' documents interleaved, as uploads come
    vectors = synthetic_documents([owners[i] for i in order], shared_owner=shared_owner.pk, bases=bases)
    return band_users, vectors


def synthetic_documents(owners: list[int], *, shared_owner: int, bases: np.ndarray, first: int = 0) -> dict:
    """Documents of 100 chunks written straight to the database, their changes logged as ingestion logs them; one
    document per entry of `owners` (the shared owner's are shared)."""
    model_key = get_embedder().model_key
    words = np.array(VOCABULARY + ENGLISH, dtype=object)
    english = np.arange(len(VOCABULARY), len(words))
    generator = np.random.default_rng(first)
    vectors: dict[int, np.ndarray] = {}
    for batch in range(0, len(owners), 100):
        created = Document.objects.bulk_create(
            Document(
                owner_id=owner,
                title=f"Synthetic {first + batch + n}",
                kind="txt",
                size_bytes=1,
                sha256=f"s{first + batch + n}",
                scope="shared" if owner == shared_owner else "private",
                status="ready",
                file="documents/none.txt",
            )
            for n, owner in enumerate(owners[batch : batch + 100])
        )
        chunks = []
        for document in created:
            mix = bases[generator.integers(0, len(bases), size=(100, 3))].sum(axis=1)
            mix += generator.normal(scale=0.02, size=mix.shape)
            mix = (mix / np.linalg.norm(mix, axis=1, keepdims=True)).astype(np.float32)
            ids = generator.integers(0, len(VOCABULARY), size=(100, 150))
            ids = np.where(generator.random((100, 150)) < 0.6, ids, generator.choice(english, size=(100, 150)))
            chunks += [
                Chunk(
                    document=document,
                    position=i,
                    text=" ".join(words[ids[i]]),
                    token_count=250,
                    embedding_model=model_key,
                    text_hash=f"{document.pk}-{i}",
                    vector=mix[i].tobytes(),
                )
                for i in range(100)
            ]
        for chunk in Chunk.objects.bulk_create(chunks, batch_size=2000):
            vectors[chunk.pk] = np.frombuffer(chunk.vector, dtype=np.float32)
        index_changes_record(model_keys=[model_key], document_ids=[d.pk for d in created])
    return vectors


def exact_top(snapshot: IndexSnapshot, vectors: np.ndarray, mask: np.ndarray, query: np.ndarray, k: int) -> set:
    """The chunk ids of an exact filtered search: every allowed row's float32 vector scored."""
    rows = np.flatnonzero(mask)
    scores = vectors[rows] @ query
    return set(snapshot.positions.chunk_ids[rows[np.argsort(-scores)[:k]]].tolist())


def bench_latency(size: int, queries: int, bases: np.ndarray) -> None:
    started = time.perf_counter()
    band_users, by_chunk = synthetic_corpus(size, bases)
    inserted = time.perf_counter() - started
    model_key = get_embedder().model_key
    started = time.perf_counter()
    snapshot = index_rebuild(model_key)
    built = time.perf_counter() - started
    vectors = np.stack([by_chunk[c] for c in snapshot.positions.chunk_ids.tolist()])
    del by_chunk
    bm25 = snapshot.bm25.weights if snapshot.bm25 is not None else None
    bm25_bytes = bm25.data.nbytes + bm25.indices.nbytes + bm25.indptr.nbytes if bm25 is not None else 0
    print(
        f"{size:>7} chunks: insert {inserted:.0f} s, index build {built:.0f} s ({snapshot.index_type}); dense index "
        f"{snapshot.dense_memory_bytes / 2**20:.0f} MiB (float32 vectors alone: {vectors.nbytes / 2**20:.0f} MiB), "
        f"BM25 {bm25_bytes / 2**20:.0f} MiB; process peak RSS {peak_rss_mib():.0f} MiB ({load_average()})"
    )
    # Question-sized queries (~12 model tokens): common words plus two rarer ones for BM25 to match.
    texts = [" ".join([*rng.sample(ENGLISH, 6), *rng.sample(VOCABULARY, 2)]) for _ in range(queries)]
    for text in texts[:5]:
        retrieve_for_user(user=band_users[-1], query=text + " warm", top_k=4)
    for share, user in zip(BAND_SHARES, band_users, strict=True):
        allowed = np.array(document_ids_searchable(user=user), dtype=np.int64)
        mask = snapshot.positions.mask(allowed)
        cold, warm, evicted, recalls = [], [], [], []
        for text in texts:  # the latency pass: one question after another, as a server answers them
            t0 = time.perf_counter()
            results = retrieve_for_user(user=user, query=text + f" {share}", top_k=4)
            t1 = time.perf_counter()
            retrieve_for_user(user=user, query=text + f" {share}", top_k=4)  # the query vector is cached now
            t2 = time.perf_counter()
            cold.append((t1 - t0) * 1000)
            warm.append((t2 - t1) * 1000)
            if not results:
                raise SystemExit(f"no results for {text!r}: the benchmark corpus is broken")
        for text in texts:  # the recall pass; its exact search reads every allowed vector, emptying the CPU caches
            query = get_embedder().encode_query(text + f" {share}")
            found, _ = dense_search(snapshot.dense, query, mask=mask, k=10, ef_search=settings.RAG_HNSW_EF_SEARCH)
            exact = exact_top(snapshot, vectors, mask, query, 10)
            recalls.append(len(exact & set(snapshot.positions.chunk_ids[found].tolist())) / 10)
            t0 = time.perf_counter()  # the worst case: a new question right after that scan
            retrieve_for_user(user=user, query=text + f" {share} evicted", top_k=4)
            evicted.append((time.perf_counter() - t0) * 1000)
        print(
            f"  a user owning {share:.0%} (sees {mask.mean():.1%} of the chunks): retrieve_for_user p50 "
            f"{percentile(cold, 50):.1f} ms, p99 {percentile(cold, 99):.1f} ms; without query embedding p50 "
            f"{percentile(warm, 50):.1f} ms, p99 {percentile(warm, 99):.1f} ms; right after a scan that empties the "
            f"CPU caches p50 {percentile(evicted, 50):.1f} ms, p99 {percentile(evicted, 99):.1f} ms; dense "
            f"recall@10 against exact filtered search {statistics.mean(recalls):.3f} (worst query {min(recalls):.1f}) "
            f"({load_average()})"
        )
    delta = one_document_delta(band_users[-1], bases, number=size // 100)
    print(f"  a 100-chunk document added to the index: {delta:.2f} s")


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def one_document_delta(user: User, bases: np.ndarray, *, number: int) -> float:
    """Seconds to apply one new 100-chunk document to the index, as a process does after reading a newer version."""
    synthetic_documents([user.pk], shared_owner=0, bases=bases, first=number)
    started = time.perf_counter()
    index_refresh(get_embedder().model_key)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ingest-chunks", type=int, default=1000)
    parser.add_argument("--backends", nargs="*", default=["onnx-int8", "torch"], help="first one: the latency runs")
    parser.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--reranker", default="", help="a CrossEncoder directory, or 'stand-in' (MiniLM-L6-sized)")
    parser.add_argument("--rerank-candidates", type=int, default=20)
    parser.add_argument("--prepare-only", action="store_true", help="write the synthetic corpora and stop")
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    users = [
        User.objects.get_or_create(username=f"bench-user-{i}", email=f"bench-user-{i}@bench.invalid")[0]
        for i in range(10)
    ]
    print(f"scratch: {SCRATCH}; CPU: {cpu_description()}; {load_average()}")
    if args.ingest_chunks:
        rates = {backend: bench_ingestion(users[0], args.ingest_chunks, backend) for backend in args.backends}
        if len(rates) > 1:
            (first, (pipeline, encode)), *others = rates.items()
            for backend, (other_pipeline, other_encode) in others:
                print(
                    f"{first} / {backend} in this run, per CPU-second: pipeline {pipeline / other_pipeline:.2f}x, "
                    f"encoding alone {encode / other_encode:.2f}x"
                )
    if args.reranker:
        path = reranker_stand_in() if args.reranker == "stand-in" else Path(args.reranker)
        bench_reranker(path, args.rerank_candidates, queries=20)
    bases = get_embedder().encode([filler(20) for _ in range(256)])
    for size in args.sizes:
        if args.prepare_only:
            synthetic_corpus(size, bases)
            continue
        bench_latency(size, args.queries, bases)


if __name__ == "__main__":
    main()
