"""Events: HighLevel changes coming in (webhooks, resync) and Rankr changes going out.

- ``inbound``: apply one HighLevel record to Rankr through the location's mapping — the same
  ``mapping_page_apply`` a poll uses — or soft-delete it.
- ``webhooks``: the ``EVENT_HANDLERS`` table (webhook type -> handler); each event runs as a
  "webhook" job keyed by its ``webhookId``.
- ``resync``: fetch one record from HighLevel by id and re-apply the current mapping ("resync" job).
- ``outbound``: Rankr users and leads sent to HighLevel ("rankr_event" jobs), idempotently.
- ``actions``: catalog *Run action* calls recorded as "action" jobs.
- ``targets``: which connection and which mapping serve a location.
"""
