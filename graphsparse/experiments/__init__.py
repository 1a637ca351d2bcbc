"""Results store (SQLite) and reports (tables, plots)."""

from .store import ResultsStore, default_db_path

__all__ = ["ResultsStore", "default_db_path"]
