"""Measure retrieval on a BEIR-format dataset through the real pipeline and the real retriever.

The corpus is uploaded, chunked, embedded and indexed for a temporary user in a temporary media directory,
every query of the split runs through `retrieve_for_user`, chunks map back to documents (best chunk per
document), and everything is removed afterwards.
"""

import json
import math
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.test import override_settings

from rag.errors import DocumentEmpty, DuplicateDocument
from rag.ingestion.pipeline import ingest_documents
from rag.retrieval.retriever import retrieve_for_user
from rag.services import document_store
from realtime_chat.accounts.models import User

MODES = {"hybrid": (True, True), "dense": (True, False), "bm25": (False, True)}
CHUNKS_PER_QUERY = 300  # enough chunks to rank 100 distinct documents


class Command(BaseCommand):
    help = "Evaluate retrieval (nDCG@10, Recall@100, MRR@10) on a BEIR-format dataset."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--beir", required=True, help="directory with corpus.jsonl, queries.jsonl, qrels/")
        parser.add_argument("--split", default="train", choices=["train", "dev", "test"])
        parser.add_argument("--mode", default="hybrid", choices=[*MODES, "all"], help="retrievers to use")
        parser.add_argument("--json", action="store_true", help="print one JSON object on the last line")
        parser.add_argument("--batch", type=int, default=1000, help="documents ingested per index publication")

    def handle(self, *args: Any, **options: Any) -> None:
        root = Path(str(options["beir"]))
        corpus, queries, qrels = load_beir(root, str(options["split"]))
        modes = list(MODES) if options["mode"] == "all" else [str(options["mode"])]
        started = time.perf_counter()
        with (
            tempfile.TemporaryDirectory(prefix="rag-eval-") as scratch,
            override_settings(MEDIA_ROOT=Path(scratch) / "media", RAG_INDEX_REFRESH_IN_BACKGROUND=False),
        ):
            name = f"rag-eval-{uuid.uuid4().hex[:12]}"
            user = User.objects.create(username=name, email=f"{name}@eval.invalid", is_active=False)
            try:
                corpus_ids, ingest_seconds = self._ingest(user, corpus, batch=int(options["batch"]))
                results = {mode: self._evaluate(user, mode, queries, qrels, corpus_ids) for mode in modes}
            finally:
                user.delete()  # documents and chunks cascade; the scratch directory goes with the block
        seconds = round(time.perf_counter() - started, 1)
        for mode, result in results.items():
            self.stdout.write(
                f"{mode:>6}: nDCG@10 {result['ndcg@10']:.4f}  Recall@100 {result['recall@100']:.4f}  "
                f"MRR@10 {result['mrr@10']:.4f}  ({result['queries']} queries in {result['query_seconds']} s, "
                f"p50 {result['p50_ms']} ms)"
            )
        self.stdout.write(f"{len(corpus_ids)} documents ingested in {ingest_seconds} s; total {seconds} s")
        if options["json"]:
            main = results[modes[0]]
            summary = {
                "ndcg@10": main["ndcg@10"],
                "recall@100": main["recall@100"],
                "mrr@10": main["mrr@10"],
                "queries": main["queries"],
                "documents": len(corpus_ids),
                "seconds": seconds,
                "mode": modes[0],
                "ingest_seconds": ingest_seconds,
                "modes": results,
            }
            self.stdout.write(json.dumps(summary))

    def _ingest(self, user: User, corpus: list[dict], *, batch: int) -> tuple[dict[int, str], float]:
        started = time.perf_counter()
        corpus_ids: dict[int, str] = {}
        pending = []
        for number, entry in enumerate(corpus, start=1):
            upload = SimpleUploadedFile(f"{number}.txt", (entry.get("text") or "").encode())
            try:
                document = document_store(user=user, upload=upload, title=entry.get("title") or "")
            except (DocumentEmpty, DuplicateDocument):
                continue  # an empty abstract, or one that repeats another: nothing new to index
            corpus_ids[document.pk] = str(entry["_id"])
            pending.append(document)
            if len(pending) >= batch:
                ingest_documents(pending)
                pending = []
                self.stderr.write(f"ingested {number}/{len(corpus)} documents ({time.perf_counter() - started:.0f} s)")
        if pending:
            ingest_documents(pending)
        return corpus_ids, round(time.perf_counter() - started, 1)

    def _evaluate(
        self, user: User, mode: str, queries: dict[str, str], qrels: dict[str, dict[str, int]], corpus_ids: dict
    ) -> dict:
        dense, bm25 = MODES[mode]
        ndcg, recall, mrr, latencies = [], [], [], []
        with override_settings(RAG_DENSE_ENABLED=dense, RAG_BM25_ENABLED=bm25):
            for query_id, relevant in qrels.items():
                started = time.perf_counter()
                chunks = retrieve_for_user(user=user, query=queries[query_id], top_k=CHUNKS_PER_QUERY)
                latencies.append((time.perf_counter() - started) * 1000)
                ranking = list(dict.fromkeys(corpus_ids[chunk.document_id] for chunk in chunks))[:100]
                ndcg.append(ndcg_at(ranking, relevant, 10))
                recall.append(len(set(ranking) & {d for d, g in relevant.items() if g > 0}) / max(len(relevant), 1))
                mrr.append(next((1 / rank for rank, d in enumerate(ranking[:10], 1) if relevant.get(d, 0) > 0), 0.0))
        latencies.sort()
        return {
            "ndcg@10": round(sum(ndcg) / len(ndcg), 4),
            "recall@100": round(sum(recall) / len(recall), 4),
            "mrr@10": round(sum(mrr) / len(mrr), 4),
            "queries": len(ndcg),
            "query_seconds": round(sum(latencies) / 1000, 1),
            "p50_ms": round(latencies[len(latencies) // 2], 1),
        }


def ndcg_at(ranking: list[str], relevant: dict[str, int], k: int) -> float:
    gains = sum(relevant.get(doc, 0) / math.log2(rank + 1) for rank, doc in enumerate(ranking[:k], start=1))
    ideal = sorted((g for g in relevant.values() if g > 0), reverse=True)[:k]
    best = sum(gain / math.log2(rank + 1) for rank, gain in enumerate(ideal, start=1))
    return gains / best if best else 0.0


def load_beir(root: Path, split: str) -> tuple[list[dict], dict[str, str], dict[str, dict[str, int]]]:
    qrels_path = root / "qrels" / f"{split}.tsv"
    if not (root / "corpus.jsonl").is_file() or not qrels_path.is_file():
        raise CommandError(f"{root} needs corpus.jsonl, queries.jsonl and qrels/{split}.tsv")
    corpus = [json.loads(line) for line in (root / "corpus.jsonl").read_text().splitlines() if line.strip()]
    queries = {}
    for line in (root / "queries.jsonl").read_text().splitlines():
        if line.strip():
            entry = json.loads(line)
            queries[str(entry["_id"])] = entry["text"]
    qrels: dict[str, dict[str, int]] = {}
    for number, line in enumerate(qrels_path.read_text().splitlines()):
        parts = line.split("\t")
        if number == 0 and not parts[-1].strip().lstrip("-").isdigit():
            continue  # the header row
        if len(parts) >= 3 and parts[0] in queries:
            qrels.setdefault(parts[0], {})[parts[1]] = int(parts[2])
    return corpus, queries, qrels
