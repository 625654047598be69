"""The core: names, types and rules every other layer shares.

Owns the contract with infrastructure (``contract``: environment keys, metric and event names,
handler entry points), the exception family (``errors``), the feature schema types (``schema``),
the model configuration models (``config``), the model card (``cards``) and the data bucket's key
layout (``layout``). It may import the standard library, pydantic and nothing else of scorewatch
outside ``core``: no boto3, no pyarrow, no pandas I/O. Everything may import it.
"""
