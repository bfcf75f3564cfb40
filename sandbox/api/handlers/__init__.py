"""Handlers for the stateful operations; ``routes.ROUTES`` is the table that names them."""
