"""Services of sandbox.access; each module is one concern (see the package README)."""
