"""Workflows: HighLevel's automations, Rankr's automation records."""

from mappings.entities.base import GHL_TO_RANKR, Entity, FlowTemplate, rule
from rankr.models import Workflow

ENTITY = Entity(
    key="workflow",
    label="Workflow",
    rankr_model=Workflow,
    highlevel_fields=("workflowId",),
    flows={
        "ghl_workflows": FlowTemplate(
            "HighLevel workflows → Rankr automations",
            "workflow",
            GHL_TO_RANKR,
            "GET /workflows/",
            [rule("name", "name", "trim"), rule("status", "status", "lower")],
        ),
    },
)
