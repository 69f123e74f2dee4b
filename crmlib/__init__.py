"""crmlib: a CRM that lives where analysts already work."""

from .errors import (
    AccessDenied,
    ConfigError,
    Conflict,
    CRMError,
    DatabaseBusy,
    DiskFull,
    NotFound,
    ValidationError,
)
from .workspace import Workspace, open

__version__ = "0.1.0"

__all__ = [
    "AccessDenied",
    "CRMError",
    "ConfigError",
    "Conflict",
    "DatabaseBusy",
    "DiskFull",
    "NotFound",
    "ValidationError",
    "Workspace",
    "__version__",
    "open",
]
