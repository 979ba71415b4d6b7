"""The Slack app: intake of complaints from channels, call-back prompts, buttons and modals.

One file per concern, as in Netflix Dispatch: ``enums`` (every id), ``labels``
(staff-facing words, read from the ``staff`` gettext catalog), ``messages``
(Block Kit builders, pure; ``case_facts`` the words describing a case in them),
``modals`` (modal views, pure; ``forms`` reads what was submitted), ``context`` (what
a button listener receives: typed value, authorised actor, open session, loaded
case), ``intake``/``registration``/``actions``/``views``/``home`` (listeners; intake's
rules in ``intake_rules``, its database work in ``intake_cases``), ``app`` (building
and serving the bolt app). Listeners never deliver: they wake the outbox's delivery
loop (:mod:`bot.runners.delivery`).
"""
