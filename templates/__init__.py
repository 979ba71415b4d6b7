"""Words and letters only: Jinja2 letters and staff texts, gettext catalogs. The Python
that reads them lives in :mod:`bot.presenters` (catalogs, letters, render); this file
only makes the folder a package, so ``importlib.resources`` finds it when installed."""
