"""Social tag details: one social tag's details, looked up by id."""

from mappings.entities.base import GHL_TO_RANKR, Entity, FlowTemplate, rule
from rankr.models import SocialTagDetail

ENTITY = Entity(
    key="social_tag_detail",
    label="Social tag details",
    rankr_model=SocialTagDetail,
    highlevel_fields=("tagIds",),
    id_path="_id",
    flows={
        "ghl_social_tag_details": FlowTemplate(
            "HighLevel tag discovered → Rankr tag details",
            "social_tag_detail",
            GHL_TO_RANKR,
            "POST /social-media-posting/{locationId}/tags/details",
            [rule("tag", "name", "trim"), rule("$", "details")],
        ),
    },
)
