"""Post statistics: the social planner's figures for published posts."""

from mappings.entities.base import GHL_TO_RANKR, Entity, FlowTemplate, rule
from rankr.models import PostStatistic

ENTITY = Entity(
    key="post_statistic",
    label="Post statistics",
    rankr_model=PostStatistic,
    highlevel_fields=("profileIds", "platforms"),
    id_path="postId",
    flows={
        "ghl_post_statistics": FlowTemplate(
            "HighLevel posts published → Rankr post statistics",
            "post_statistic",
            GHL_TO_RANKR,
            "POST /social-media-posting/statistics",
            [rule("totals", "metrics", null="default", default={})],
        ),
    },
)
