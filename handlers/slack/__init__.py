"""The Slack app: intake of complaints from channels, call-back prompts, buttons and modals.

One file per concern, as in Netflix Dispatch: ``enums`` (every id), ``labels``
(staff-facing words per language), ``messages`` (Block Kit builders, pure),
``modals`` (modal views, pure), ``intake``/``actions``/``views``/``home``
(listeners), ``app`` (building and serving the bolt app).
"""
