"""Groups of ``complaint-bot`` commands, each module with ``register(app)``."""
