"""Users: HighLevel's users, Rankr's users."""

from mappings.entities.base import (
    GHL_TO_RANKR,
    LISTING,
    RANKR_TO_GHL,
    Entity,
    Event,
    Fetch,
    FlowTemplate,
    LocationPlan,
    rule,
    step,
)
from rankr.models import RankrUser

ENTITY = Entity(
    key="user",
    label="User",
    rankr_model=RankrUser,
    highlevel_fields=(
        "userId",
        "firstName",
        "lastName",
        "email",
        "phone",
        "type",
        "role",
        "permissions",
        "scopes",
    ),
    fetch=Fetch("GET /users/{userId}", "userId"),
    personal_fields=("firstName", "lastName", "name", "email", "phone", "extension"),
    natural_key="email",
    events={"UserCreate": Event()},
    location_plan=LocationPlan(
        LISTING,
        "Search Users",
        "GET /users/search",
        "users",
        walk_share=0.01,
        budget="company",
        why="GET /users/ is deprecated; Search Users needs companyId (the company's budget, shared "
        "by the agency's locations) and filters by locationId; a location has few users: list "
        "them each run.",
    ),
    flows={
        "ghl_users": FlowTemplate(
            "HighLevel users → Rankr users",
            "user",
            GHL_TO_RANKR,
            "GET /users/search",
            [
                rule("email", "email", "trim", "lower"),
                rule(["firstName", "lastName"], "full_name", "name_join"),
                rule("roles.role", "role", "lower"),
            ],
        ),
        "rankr_user_create": FlowTemplate(
            "New Rankr user → create HighLevel user",
            "user",
            RANKR_TO_GHL,
            "POST /users/",
            [
                rule("email", "email", "trim", "lower"),
                rule("full_name", "firstName", step("name_split", part="first")),
                rule("full_name", "lastName", step("name_split", part="last")),
                rule(
                    "role",
                    "role",
                    "lower",
                    step("value_map", values={"admin": "admin", "user": "user"}, otherwise="user"),
                ),
                rule(None, "type", null="default", default="account"),
            ],
        ),
        "rankr_user_delete": FlowTemplate(
            "Rankr user deleted → delete HighLevel user",
            "user",
            RANKR_TO_GHL,
            "DELETE /users/{userId}",
            [rule("ghl_id", "userId")],
        ),
    },
)
