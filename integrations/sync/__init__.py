"""Connection services: plain functions the admin, views, commands and tasks call."""
