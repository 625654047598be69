"""Lifecycle: what happens to a model after it scores — labels, retraining, promotion.

Owns the delayed-labels join and realized performance (``labels``), building and fitting a
challenger from a declarative spec (``training``), the promotion gate (``gate``) and the steps of
the retraining workflow (``retraining``). It may import every layer below it: ``core``, ``io``,
``scoring``, ``monitoring``, ``reports``; never ``handlers`` or ``cli``.
"""
