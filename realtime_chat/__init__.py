"""The product's Django apps, one sub-package each, whose imports run one way:
consumers -> chat -> {rag, llm} -> accounts -> core (local_model stands apart: a server, not a library)."""
