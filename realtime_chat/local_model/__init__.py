"""A small server that speaks Ollama's HTTP API over a real local GGUF model (llama.cpp).

It lets the product's Ollama code path run end to end where no Ollama is installed: tests start it with
`manage.py serve_local_model`, and so can a development setup.
"""
