"""Scoring: from an input object to predictions with lineage.

Owns validation and coercion of batches against a feature schema (``validation``), schema
inference for models without a card (``schema_inference``), distinct-value encoding
(``encoding``), the streaming scorer (``scorer``), decision policies (``decisions``) and the
per-object orchestration of the score path (``batch``). It may import ``core``, ``io``,
``monitoring`` (to profile what it scored) and ``reports``; never ``lifecycle`` or ``handlers``.
"""
