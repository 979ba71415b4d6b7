"""The citizen's web front: the complaint form and the status page (see docs/web.md)."""
