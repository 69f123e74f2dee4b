"""Business records and their rules, grouped by area.

``team`` (users, tasks, comments, reminders) is the base the other areas build on;
``customers`` (customer files, values, lifecycle, search) and ``marketing``
(campaigns, attribution) build on it; ``sales`` (leads to orders) and ``service`` (tickets,
SLA, feedback, knowledge) sit on top. :mod:`.flows` and :mod:`.reach` serve every area.
An area never imports one above it (the import-linter contract in pyproject.toml)."""
