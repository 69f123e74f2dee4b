"""The team: users and roles, tasks, comments with @mentions, and reminders."""
