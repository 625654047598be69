"""Input/output: every byte that crosses a process boundary goes through here.

Owns reading and writing data by URI (``storage``: local paths and S3 through ``pyarrow.fs`` and
boto3), the model registry (``registry``: DynamoDB versions, the champion pointer, control items),
verified artifact (de)serialization (``artifacts``), EventBridge publishing (``events``), EMF
metrics (``metrics``) and the transient-error mapping (``transient``). It may import ``core`` and
third-party I/O libraries; it never imports scoring, monitoring, lifecycle, reports or handlers.
Functions here return domain objects, never raw boto3 responses.
"""
