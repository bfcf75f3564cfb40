"""Course imports: Rankr course data mapped straight into HighLevel's course import.

Courses have no Rankr table: the payload is mapped as it is (any source, any target).
"""

from mappings.entities.base import RANKR_TO_GHL, Entity, FlowTemplate, rule

ENTITY = Entity(
    key="course",
    label="Course",
    rankr_model=None,
    highlevel_fields=("userId", "products"),
    flows={
        "rankr_course_import": FlowTemplate(
            "Rankr course data → HighLevel course import",
            "course",
            RANKR_TO_GHL,
            "POST /courses/courses-exporter/public/import",
            [rule("products", "products"), rule("userId", "userId")],
        ),
    },
)
