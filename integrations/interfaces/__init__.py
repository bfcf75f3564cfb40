"""The pages, views, forms and task entry points of the integrations (the top layer)."""
