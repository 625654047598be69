"""scorewatch: serverless batch scoring and model monitoring on AWS."""

__version__ = "0.1.0"
