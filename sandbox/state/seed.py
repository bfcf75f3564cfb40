"""Realistic seed data for the sandbox, written with bulk_create (100,000 contacts well under a minute).

Deterministic for a given ``seed``: names, emails and phones from several countries, tags, custom
fields, tasks, notes, calendars and appointments, users, social-planner tags and post statistics.
"""

import random
import string
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db import transaction

from sandbox.models import Resource
from sandbox.state.store import resource_build

BATCH = 2000
_ALPHABET = string.ascii_letters + string.digits
COUNTRIES = {
    "US": (
        ["James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda"],
        ["Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller"],
        "+1",
        10,
        "example.com",
        "America/New_York",
    ),
    "GB": (
        ["Oliver", "Amelia", "George", "Isla", "Harry", "Ava", "Jack", "Emily"],
        ["Taylor", "Davies", "Evans", "Thomas", "Roberts", "Walker"],
        "+447",
        9,
        "example.co.uk",
        "Europe/London",
    ),
    "DE": (
        ["Lukas", "Mia", "Leon", "Emma", "Finn", "Hannah", "Jonas"],
        ["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Becker"],
        "+4915",
        9,
        "example.de",
        "Europe/Berlin",
    ),
    "FR": (
        ["Gabriel", "Louise", "Raphaël", "Jade", "Léo", "Chloé"],
        ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Petit"],
        "+336",
        8,
        "example.fr",
        "Europe/Paris",
    ),
    "AU": (
        ["William", "Charlotte", "Noah", "Olivia", "Jack", "Mia"],
        ["Smith", "Jones", "Williams", "Brown", "Wilson", "Taylor"],
        "+614",
        8,
        "example.com.au",
        "Australia/Sydney",
    ),
    "IN": (
        ["Aarav", "Saanvi", "Vihaan", "Ananya", "Arjun", "Diya"],
        ["Sharma", "Verma", "Patel", "Gupta", "Reddy", "Iyer"],
        "+919",
        9,
        "example.in",
        "Asia/Kolkata",
    ),
    "BR": (
        ["Miguel", "Alice", "Arthur", "Sophia", "Heitor", "Helena"],
        ["Silva", "Santos", "Oliveira", "Souza", "Lima", "Costa"],
        "+55119",
        8,
        "example.com.br",
        "America/Sao_Paulo",
    ),
}
TAGS = [
    "customer",
    "lead",
    "vip",
    "newsletter",
    "webinar",
    "referral",
    "cold",
    "hot",
    "rankr",
    "review-request",
    "churn-risk",
    "trial",
]
SOURCES = ["public api", "website form", "facebook ads", "google ads", "referral", "import"]
CUSTOM_FIELDS = [
    ("Rankr score", "NUMERICAL"),
    ("Preferred contact time", "TEXT"),
    ("Last review stars", "NUMERICAL"),
    ("Industry", "TEXT"),
]
SOCIAL_TAGS = ["promo", "announcement", "tips", "behind-the-scenes", "testimonial", "event"]


@dataclass
class SeedReport:
    locations: list[str] = field(default_factory=list)
    counts: dict = field(default_factory=dict)

    def add(self, kind: str, n: int) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + n


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class _Writer:
    """Buffers unsaved resources and writes them in batches."""

    def __init__(self, report: SeedReport):
        self.rows, self.report = [], report

    def add(self, res: Resource) -> Resource:
        self.rows.append(res)
        self.report.add(res.kind, 1)
        if len(self.rows) >= BATCH:
            self.flush()
        return res

    def flush(self) -> None:
        if self.rows:
            Resource.objects.bulk_create(self.rows, batch_size=BATCH)
            self.rows = []


def sandbox_seed(
    *,
    company_id: str,
    location_ids: list[str],
    contacts: int,
    users: int = 3,
    task_ratio: float = 0.2,
    note_ratio: float = 0.2,
    appointment_ratio: float = 0.05,
    seed: int = 1,
    tasks: int | None = None,
    notes: int | None = None,
    appointments: int | None = None,
    calendars: int = 1,
    opportunities: int = 0,
    now: datetime | None = None,
) -> SeedReport:
    """Seed ``contacts`` contacts (and their activity) in each of ``location_ids``.

    Activity per contact follows the ratios; ``tasks``, ``notes`` and ``appointments`` instead
    give exact volumes per location, spread over random contacts (appointments over
    ``calendars`` calendars, from 30 days before ``now`` to 60 days after, in working hours), and
    ``opportunities`` adds that many to the two pipelines. A location's earlier sandbox data is
    replaced, so seeding twice gives the same state.
    """
    rng = random.Random(seed)
    report = SeedReport(locations=list(location_ids))
    out = _Writer(report)
    start = datetime(2024, 1, 1, tzinfo=UTC)

    def rid():
        return "".join(rng.choices(_ALPHABET, k=20))

    def build(kind, location_id, data, parent_id=""):
        return out.add(
            resource_build(
                kind=kind,
                location_id=location_id,
                company_id=company_id,
                data=data,
                parent_id=parent_id,
                resource_id=rid(),
            )
        )

    with transaction.atomic():
        Resource.objects.filter(location_id__in=location_ids).delete()
        Resource.objects.filter(kind="location", resource_id__in=location_ids).delete()
        for location_id in location_ids:
            rng.seed(f"{seed}:{location_id}")  # ids differ between locations, repeat between runs
            out.add(
                resource_build(
                    kind="location",
                    location_id=location_id,
                    company_id=company_id,
                    resource_id=location_id,
                    data={
                        "companyId": company_id,
                        "name": f"Location {location_id}",
                        "timezone": "America/New_York",
                    },
                )
            )
            field_ids = [
                build(
                    "custom_field",
                    location_id,
                    {
                        "name": name,
                        "dataType": dtype,
                        "model": "contact",
                        "fieldKey": "contact." + name.lower().replace(" ", "_"),
                    },
                ).resource_id
                for name, dtype in CUSTOM_FIELDS
            ]
            user_ids = []
            for n in range(users):
                first, last = rng.choice(COUNTRIES["US"][0]), rng.choice(COUNTRIES["US"][1])
                user_ids.append(
                    build(
                        "user",
                        location_id,
                        {
                            "name": f"{first} {last}",
                            "firstName": first,
                            "lastName": last,
                            "email": f"{first}.{last}.{n}@staff.example.com".lower(),
                            "phone": "",
                            "roles": {
                                "type": "account",
                                "role": "user" if n else "admin",
                                "locationIds": [location_id],
                            },
                        },
                    ).resource_id
                )
            calendar_ids = [
                build(
                    "calendar",
                    location_id,
                    {"name": name, "isActive": True},
                ).resource_id
                for name in ["Consultations", "Check-ups", "Follow-ups", "Cleanings", "Surgery"][
                    : max(calendars, 1)
                ]
                + [f"Calendar {n}" for n in range(6, calendars + 1)]
            ]
            calendar_id = calendar_ids[0]
            contact_ids: list[str] = []
            for tag in SOCIAL_TAGS:
                build("social_tag", location_id, {"tag": tag})
            for day in range(7):
                build(
                    "social_statistic",
                    location_id,
                    {
                        "profileId": f"profile-{location_id}",
                        "day": day,
                        "posts": rng.randint(0, 5),
                        "likes": rng.randint(0, 300),
                        "followers": rng.randint(0, 40),
                        "impressions": rng.randint(100, 5000),
                        "comments": rng.randint(0, 50),
                    },
                )
            for name in ("New lead nurture", "Review request", "Appointment reminder"):
                build("workflow", location_id, {"name": name, "status": "published", "version": 1})
            for name in ("Spring promo", "Win-back"):
                build("campaign", location_id, {"name": name, "status": "published"})
            for name in ("Acme Dental Group", "Northwind Traders"):
                build("business", location_id, {"name": name})
            pipelines = []
            for pipeline in ("Sales", "Onboarding"):
                pipelines.append(
                    build(
                        "pipeline",
                        location_id,
                        {
                            "name": pipeline,
                            "stages": [
                                {"id": rid(), "name": s, "position": i}
                                for i, s in enumerate(("New", "Qualified", "Won"))
                            ],
                        },
                    )
                )
            for n in range(contacts):
                country = rng.choice(list(COUNTRIES))
                firsts, lasts, prefix, digits, domain, tz = COUNTRIES[country]
                first, last = rng.choice(firsts), rng.choice(lasts)
                added = start + timedelta(minutes=n)
                contact = build(
                    "contact",
                    location_id,
                    {
                        "firstName": first,
                        "lastName": last,
                        "name": f"{first} {last}",
                        "firstNameLowerCase": first.lower(),
                        "lastNameLowerCase": last.lower(),
                        "fullNameLowerCase": f"{first} {last}".lower(),
                        "email": f"{first}.{last}.{n}@{domain}".lower(),
                        "phone": prefix + "".join(rng.choices(string.digits, k=digits)),
                        "country": country,
                        "timezone": tz,
                        "source": rng.choice(SOURCES),
                        "type": "lead",
                        "tags": rng.sample(TAGS, rng.randint(0, 3)),
                        "customFields": [{"id": field_ids[0], "value": str(rng.randint(1, 100))}],
                        "dateAdded": _iso(added),
                        "dateUpdated": _iso(added),
                        "dnd": False,
                        "assignedTo": rng.choice(user_ids) if user_ids else "",
                    },
                )
                contact.data["emailLowerCase"] = contact.email
                contact_ids.append(contact.resource_id)
                if tasks is None and rng.random() < task_ratio:
                    build(
                        "task",
                        location_id,
                        {
                            "title": "Follow up",
                            "body": f"Call {first} about the review request",
                            "contactId": contact.resource_id,
                            "assignedTo": rng.choice(user_ids) if user_ids else "",
                            "dueDate": _iso(added + timedelta(days=3)),
                            "completed": rng.random() < 0.3,
                        },
                        parent_id=contact.resource_id,
                    )
                if notes is None and rng.random() < note_ratio:
                    build(
                        "note",
                        location_id,
                        {"body": f"{first} prefers email.", "contactId": contact.resource_id},
                        parent_id=contact.resource_id,
                    )
                if appointments is None and rng.random() < appointment_ratio:
                    begin = added + timedelta(days=7, hours=9)
                    build(
                        "appointment",
                        location_id,
                        {
                            "calendarId": calendar_id,
                            "contactId": contact.resource_id,
                            "title": f"Consultation with {first}",
                            "appointmentStatus": "confirmed",
                            "startTime": _iso(begin),
                            "endTime": _iso(begin + timedelta(minutes=30)),
                            "assignedUserId": rng.choice(user_ids) if user_ids else "",
                        },
                    )
            _volumes(
                build=build,
                rng=rng,
                location_id=location_id,
                contact_ids=contact_ids,
                user_ids=user_ids,
                calendar_ids=calendar_ids,
                pipelines=pipelines,
                volumes={"task": tasks, "note": notes, "appointment": appointments},
                opportunities=opportunities,
                now=now or datetime.now(UTC),
            )
        out.flush()
    return report


def _volumes(
    *,
    build,
    rng,
    location_id,
    contact_ids,
    user_ids,
    calendar_ids,
    pipelines,
    volumes,
    opportunities,
    now,
):
    """Exact volumes of activity for one location, spread over random contacts."""
    if not contact_ids:
        return
    day0 = now.replace(hour=0, minute=0, second=0, microsecond=0)
    for n in range(volumes["task"] or 0):
        contact_id = rng.choice(contact_ids)
        build(
            "task",
            location_id,
            {
                "title": rng.choice(["Follow up", "Send quote", "Call back", "Ask for review"]),
                "body": f"Task {n} for {contact_id}",
                "contactId": contact_id,
                "assignedTo": rng.choice(user_ids) if user_ids else "",
                "dueDate": _iso(day0 + timedelta(days=rng.randint(-60, 60), hours=17)),
                "completed": rng.random() < 0.4,
            },
            parent_id=contact_id,
        )
    for n in range(volumes["note"] or 0):
        contact_id = rng.choice(contact_ids)
        build(
            "note",
            location_id,
            {"body": f"Note {n}: prefers email.", "contactId": contact_id},
            parent_id=contact_id,
        )
    for n in range(volumes["appointment"] or 0):
        begin = day0 + timedelta(
            days=rng.randint(-29, 59), hours=rng.randint(8, 17), minutes=rng.choice([0, 30])
        )
        build(
            "appointment",
            location_id,
            {
                "calendarId": calendar_ids[n % len(calendar_ids)],
                "contactId": rng.choice(contact_ids),
                "title": f"Appointment {n}",
                "appointmentStatus": rng.choice(["confirmed", "confirmed", "showed", "noshow"]),
                "startTime": _iso(begin),
                "endTime": _iso(begin + timedelta(minutes=30)),
                "assignedUserId": rng.choice(user_ids) if user_ids else "",
            },
        )
    for n in range(opportunities):
        pipeline = rng.choice(pipelines)
        stage = rng.choice(pipeline.data["stages"])
        build(
            "opportunity",
            location_id,
            {
                "name": f"Deal {n}",
                "pipelineId": pipeline.resource_id,
                "pipelineStageId": stage["id"],
                "status": rng.choice(["open", "open", "won", "lost"]),
                "contactId": rng.choice(contact_ids),
                "monetaryValue": rng.randint(1, 200) * 50,
                "assignedTo": rng.choice(user_ids) if user_ids else "",
            },
        )
