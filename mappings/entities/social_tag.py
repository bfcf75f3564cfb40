"""Social tags: the social planner's tags of a location."""

from mappings.entities.base import DATETIME, GHL_TO_RANKR, Entity, FlowTemplate, rule
from rankr.models import SocialTag

ENTITY = Entity(
    key="social_tag",
    label="Social tag",
    rankr_model=SocialTag,
    id_path="_id",
    flows={
        "ghl_social_tags": FlowTemplate(
            "HighLevel social tags (polling) → Rankr",
            "social_tag",
            GHL_TO_RANKR,
            "GET /social-media-posting/{locationId}/tags",
            [rule("tag", "name", "trim"), rule("updatedAt", "tagged_at", DATETIME)],
        ),
    },
)
