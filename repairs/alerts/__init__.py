"""Emergency alerts: a new emergency ticket tells the officers at once (their Telegram group, the workspace)."""
