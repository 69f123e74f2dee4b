"""What every server of the workspace (Voila, JupyterLab) hands its kernels.

Kept apart from :mod:`.serve`: this opens the workspace, and :mod:`crmlib.reporting` (which
the workspace uses) serves its dashboards through :mod:`.serve`."""

from __future__ import annotations

from ..config import HOME_ENV, home


def kernel_settings(
    url: str | None = None, user: str | None = None, lang: str | None = None
) -> dict[str, str]:
    """What a server's kernels must know to open the workspace, whatever folder they start
    in: ``CRM_HOME``, the database's absolute URL, the user and (when given) the language.
    The workspace is opened once here, so a missing database or an unknown user fails
    before the server starts, in one line, and nothing is created."""
    from .base import workspace

    with workspace(url, user, lang) as ws:
        settings = {
            HOME_ENV: str(home()),
            "CRM_DATABASE_URL": ws.engine.url.render_as_string(hide_password=False),
            "CRM_USER": ws.user.username,
        }
    if lang:
        settings["CRM_LANG"] = lang
    return settings
