"""The operation catalog: HighLevel's 576 operations from the specs, the product's named catalog,
and the service API (`operation_run`, `operation_pages`) the rest of the portal calls them with."""
