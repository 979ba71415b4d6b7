"""The database and what lives in it: engine, models, migrations, leases, references."""
