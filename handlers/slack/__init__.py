"""The Slack app: intake of complaints from channels, call-back prompts, buttons and modals.

One file per concern, as in Netflix Dispatch: ``enums`` (every id), ``labels``
(staff-facing words, read from the ``staff`` gettext catalog), ``messages``
(Block Kit builders, pure), ``modals`` (modal views, pure), ``context`` (what a
button listener receives: typed value, authorised actor, open session, loaded
case), ``intake``/``actions``/``views``/``home`` (listeners), ``app`` (building
and serving the bolt app).
"""
