"""Health checks of retrieval. Optional: without them chat still answers, only without documents."""

from rag.ingestion.embed import configured_model_key, get_embedder
from rag.ingestion.index import current_snapshot
from realtime_chat.core.health import register


@register("embeddings", required=False)
def embeddings() -> str:
    embedder = get_embedder()
    vector = embedder.encode(["health"])[0]
    return f"{embedder.model_key} loaded, {len(vector)} dimensions"


@register("vector_index", required=False)
def vector_index() -> str:
    model_key = configured_model_key()
    snapshot = current_snapshot(model_key)
    if snapshot.version == 0:
        return f"no index for {model_key} yet (nothing ingested)"
    return f"{model_key} v{snapshot.version}: {snapshot.count} vectors, {snapshot.index_type}"
