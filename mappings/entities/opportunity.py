"""Opportunities: HighLevel's pipeline opportunities, Rankr's opportunities."""

from mappings.entities.base import (
    DELETE,
    GHL_TO_RANKR,
    LISTING,
    Entity,
    Event,
    Fetch,
    FlowTemplate,
    LocationPlan,
    rule,
)
from rankr.models import Opportunity

ENTITY = Entity(
    key="opportunity",
    label="Opportunity",
    rankr_model=Opportunity,
    highlevel_fields=(
        "id",
        "pipelineId",
        "name",
        "pipelineStageId",
        "status",
        "contactId",
        "monetaryValue",
        "assignedTo",
    ),
    fetch=Fetch("GET /opportunities/{id}", "id", "opportunity"),
    events={
        "OpportunityCreate": Event(),
        "OpportunityUpdate": Event(),
        "OpportunityStatusUpdate": Event(),
        "OpportunityStageUpdate": Event(),
        "OpportunityMonetaryValueUpdate": Event(),
        "OpportunityAssignedToUpdate": Event(),
        "OpportunityDelete": Event(DELETE),
    },
    location_plan=LocationPlan(
        LISTING,
        "Search Opportunities",
        "GET /opportunities/search",
        "opportunities",
        walk_share=0.03,
        why="Search Opportunities' date filters are by day (mm-dd-yyyy), not a modification "
        "mark: list location-wide and skip unchanged by fingerprint.",
    ),
    flows={
        "ghl_opportunities": FlowTemplate(
            "HighLevel opportunities → Rankr opportunities",
            "opportunity",
            GHL_TO_RANKR,
            "GET /opportunities/search",
            [
                rule("name", "name", "trim"),
                rule("contactId", "contact_ghl_id"),
                rule("pipelineId", "pipeline_ghl_id"),
                rule("pipelineStageId", "stage_ghl_id"),
                rule("status", "status", "lower"),
                rule("monetaryValue", "monetary_value"),
            ],
        ),
    },
)
