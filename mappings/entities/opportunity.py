"""Opportunities: HighLevel's pipeline opportunities, Rankr's opportunities."""

from mappings.entities.base import DELETE, Entity, Event, Fetch
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
)
