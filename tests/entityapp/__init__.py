"""A Django app installed only under PORTAL_ENV=test: models that tests add to the portal."""
