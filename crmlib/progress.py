"""The progress bar of long crmlib work (imports, demo builds, duplicate scans)."""

from __future__ import annotations

from tqdm import tqdm


class ProgressBar(tqdm):
    """A tqdm bar that starts no monitor thread. The monitor only thins out the updates
    of a bar that stalls, and crmlib's bars advance a chunk at a time; left running, it
    would outlast the command that started it in a long-lived process (a notebook
    kernel, the dashboards server)."""

    monitor_interval = 0
