"""Ready mappings for each flow of PRODUCT.md's "Flows the pages promise" table.

A staff member applies one to a location in one action (``mapping_template_apply``); the result
is an ordinary mapping they can edit. ``operation_key`` names the HighLevel operation the flow
uses, as "METHOD /path" with the official spec's path template. Phone numbers default to US;
edit the mapping for a location elsewhere. The sync fills connection-level fields itself
(``locationId``, ``companyId``, ``locationIds``, a new user's password). Each template is defined
in its entity's module (``mappings/entities/``); this is the table of them all.
"""

from mappings.entities import FLOW_TEMPLATES, FlowTemplate

__all__ = ["FLOW_TEMPLATES", "FlowTemplate"]
