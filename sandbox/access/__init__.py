"""Access to the sandbox: OAuth, tokens, rate limits, faults and outgoing webhooks.

The other sandbox modules reach it through a few services (see README.md beside this file):
:func:`sandbox.access.gate.gate_enter` / :func:`~sandbox.access.gate.gate_leave` around every
API request, :func:`sandbox.access.services.webhooks.webhook_emit` when a resource changes, and
:mod:`sandbox.access.registry` for seeding apps, companies and locations.
"""
