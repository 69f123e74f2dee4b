"""The ``crm`` command: thin over crmlib, one clear line for every expected error.

Each module adds its subcommands to :data:`main`; importing them here registers them all.
"""

from . import core  # noqa: F401  (registers the subcommands)
from .base import main, run

__all__ = ["main", "run"]
