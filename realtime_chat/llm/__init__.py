"""Language-model providers behind one interface (`types.LLMProvider`), the fallback chain, the local model server.

Callers build a chain with `factory.build_chain()` and iterate `chain.stream(messages, options)`.
"""
