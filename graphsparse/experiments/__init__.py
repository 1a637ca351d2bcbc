"""Results store (SQLite) and reports (tables, plots)."""

from .store import ResultsStore, StoreError, default_db_path

__all__ = ["ResultsStore", "StoreError", "default_db_path"]
