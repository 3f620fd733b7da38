"""modelsched: declarative plan/apply for per-model replica scheduling."""

__version__ = "0.1.0"
GENERATOR = f"modelsched {__version__}"
