"""hrmcode: hierarchical reasoning models (HRM) for code generation in six languages."""

__version__ = "0.1.0"
