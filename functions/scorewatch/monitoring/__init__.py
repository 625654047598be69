"""Monitoring: drift, data quality and performance of batches against a baseline.

The statistics (``profiles``, ``stattests``, ``drift``, ``multivariate``, ``quality``,
``performance``, ``estimation``, ``evaluation``) are pure: they take arrays and tables and return
frozen results, and never import boto3, ``pyarrow.fs`` or Powertools (an import-linter contract
holds this). ``window`` is the orchestration of the monitor function: it reads profiles through
``io``, evaluates them and publishes reports, metrics and events. The package may import ``core``,
``io`` (``window`` only) and ``reports``; never ``scoring``, ``lifecycle`` or ``handlers``.
"""
