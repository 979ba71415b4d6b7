"""Microsoft Teams behind the chat port: the Bot Connector client, the app's token,
and the Block Kit -> Adaptive Card translation (see docs/teams.md)."""
