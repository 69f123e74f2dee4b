"""Storage: engines, the data model, migrations and sessions."""

from .engine import make_engine
from .migrate import current_revision, head_revision, upgrade

__all__ = ["current_revision", "head_revision", "make_engine", "upgrade"]
