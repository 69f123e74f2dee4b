"""The progress bar of long crmlib work (imports, demo builds, duplicate scans)."""

from __future__ import annotations

from tqdm import tqdm


class ProgressBar(tqdm):
    """A tqdm bar that starts no monitor thread: a large import forks a helper process,
    which it does only from a process with a single thread (see
    :func:`crmlib.quality.importing.helper_pays`), and a bar from an earlier command in
    the same process must not take that away."""

    monitor_interval = 0
