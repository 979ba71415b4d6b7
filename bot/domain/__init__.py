"""Pure domain rules: plain functions over plain data, no I/O, no clock.

Each module answers one question the bot asks about a case, e.g.
:mod:`bot.domain.ladder`: "what should happen to this case now, and when do
we look again?". The callers (handlers, sweeps) load the data, ask, and
record the answer.
"""
