"""One sample object per registered admin model, for the admin smoke test.

Every app that registers an admin adds a factory here: `(location, users) -> saved object`,
with the object belonging to `location` where the model is location-owned.
"""

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.contrib.auth.models import Group
from django.utils import timezone
from django_q.models import OrmQ, Schedule, Task

from integrations.models import (
    Connection,
    EntityCoverage,
    ErasureTombstone,
    HighLevelApp,
    Job,
    JobAttempt,
    LocationMintBatch,
    SpecDeviation,
    Subscription,
    SyncLog,
    Verification,
    WebhookEvent,
)
from mappings.flow_templates import FLOW_TEMPLATES
from mappings.models import MappingVersion, QuarantinedRecord
from mappings.services import mapping_template_apply
from portal.models import AgencySingleSignOn, AuditEvent
from rankr.models import RankrRecord


def _task(success):
    def make(location, users):
        now = timezone.now()
        return Task.objects.create(
            id=f"task-{int(success)}-{now.timestamp()}",
            name=f"sample-{success}",
            func="math.floor",
            started=now,
            stopped=now,
            success=success,
        )

    return make


def _job_attempt(location, users):
    job = Job.objects.create(
        kind="poll",
        status="dead",
        location=location,
        idempotency_key=f"sample-attempt-{location.pk}",
        error_class="WorkerLost",
        error_message="The worker stopped renewing its lease.",
    )
    return JobAttempt.objects.create(
        job=job,
        number=1,
        lease_token=1,
        worker="host-a:4242",
        started_at=timezone.now(),
        ended_at=timezone.now(),
        outcome="worker_lost",
        error_class="WorkerLost",
        error_message="The worker stopped renewing its lease.",
    )


def _app(location, users):
    app = HighLevelApp.objects.filter(client_id="sample-client").first()
    if app is None:
        app = HighLevelApp(
            name="Sample app", client_id="sample-client", redirect_url="http://testserver/cb/"
        )
        app.client_secret = "sample-secret-value"
        app.save()
    return app


def _single_sign_on(location, users):
    sso = AgencySingleSignOn.objects.filter(agency=location.agency).first()
    if sso is None:
        sso = AgencySingleSignOn(
            agency=location.agency,
            slug=f"sample-{location.agency.pk}",
            issuer="https://idp.example.test",
            client_id="c",
        )
        sso.client_secret = "sample-sso-secret"
        sso.save()
    return sso


def _connection(location, users):
    existing = Connection.objects.filter(location=location).first()
    if existing:
        return existing
    connection = Connection(app=_app(location, users), agency=location.agency, location=location)
    connection.access_token = "sample-access-token"
    connection.save()
    return connection


def _mapping(location, users):
    mapping, _ = mapping_template_apply(
        template_key=next(iter(FLOW_TEMPLATES)),
        location_id=location.pk,
        user_id=users["superuser"].pk,
    )
    return mapping


def _mapping_template(location, users):
    from mappings.inheritance import template_attach, template_save
    from mappings.models import MappingTemplate

    template = MappingTemplate.objects.filter(agency=location.agency).first()
    if template is None:
        template = MappingTemplate(
            agency=location.agency,
            name="Workflows in",
            entity="workflow",
            direction="ghl_to_rankr",
            operation_key="GET /workflows/",
            rules=[{"source": "name", "target": "name"}],
        )
        template_save(template=template, user_id=users["superuser"].pk)
        template_attach(
            template_id=template.pk, location_ids=[location.pk], user_id=users["superuser"].pk
        )
    return template


def _rollout(location, users):
    from mappings.inheritance import template_save
    from mappings.models import Rollout
    from mappings.rollouts import rollout_start

    template = _mapping_template(location, users)
    existing = Rollout.objects.filter(template=template).first()
    if existing:
        return existing
    template.rules = [{"source": "name", "target": "name", "transforms": ["trim"]}]
    template_save(template=template, user_id=users["superuser"].pk)
    return rollout_start(
        template_id=template.pk, location_ids=[location.pk], user_id=users["superuser"].pk
    )


def _subscription(location, users):
    connection = _connection(location, users)
    mapping, _ = mapping_template_apply(
        template_key="ghl_contact_upsert", location_id=location.pk, user_id=users["superuser"].pk
    )
    return Subscription.objects.create(
        location=location,
        connection=connection,
        trigger="Search Contacts",
        operation="POST /contacts/search",
        mapping=mapping,
    )


def _rankr_record(model):
    return lambda location, users: model.objects.create(
        location=location, ghl_id=f"sample-{model.__name__}"
    )


def _sandbox_world(location, users):
    """The sandbox's own records (superuser-only admins), made through its services."""
    from sandbox.access import models as sm
    from sandbox.access.services.faults import fault_rule_set
    from sandbox.access.services.registry import private_token_create, sandbox_demo_ensure
    from sandbox.access.services.signing import webhook_public_keys
    from sandbox.access.services.webhooks import webhook_emit

    if not sm.MarketplaceApp.objects.exists():
        sandbox_demo_ensure(
            redirect_uris=["http://testserver/cb/"], webhook_url="http://testserver/wh/"
        )
        private_token_create(location_id="demo-loc-0001", scopes=["contacts.readonly"])
        sm.Installation.objects.get_or_create(
            app=sm.MarketplaceApp.objects.first(),
            company=sm.SandboxCompany.objects.first(),
            location=sm.SandboxLocation.objects.first(),
        )
        fault_rule_set(location_id="demo-loc-0001", values={"error_rate": 0.5})
        webhook_public_keys()
        event = webhook_emit(
            location_id="demo-loc-0001", event_type="ContactCreate", payload={"id": "c1"}
        )
        sm.WebhookDelivery.objects.get_or_create(
            event=event,
            app=sm.MarketplaceApp.objects.first(),
            defaults={"url": "http://testserver/wh/"},
        )
    return sm


def _sandbox(model_name):
    return lambda location, users: getattr(
        _sandbox_world(location, users), model_name
    ).objects.first()


def _sandbox_resource(location, users):
    from sandbox.models import Resource
    from sandbox.state.seed import sandbox_seed

    sandbox_seed(
        company_id="demo-company-0001", location_ids=["demo-loc-0001"], contacts=1, users=0
    )
    return Resource.objects.first()


SAMPLES = {
    "sandbox.Resource": _sandbox_resource,
    **{
        f"sandbox_access.{name}": _sandbox(name)
        for name in (
            "MarketplaceApp",
            "SandboxCompany",
            "SandboxLocation",
            "Installation",
            "Token",
            "FaultRule",
            "WebhookKey",
            "WebhookEvent",
            "WebhookDelivery",
        )
    },
    "mappings.Mapping": _mapping,
    "mappings.MappingVersion": lambda location, users: MappingVersion.objects.filter(
        mapping=_mapping(location, users)
    ).first(),
    "mappings.QuarantinedRecord": lambda location, users: QuarantinedRecord.objects.create(
        location=location,
        mapping=_mapping(location, users),
        entity="contact",
        ghl_id="q-sample",
        rule_number=2,
        field="first_name",
        value="x" * 250,
        reason="250 characters; at most 200",
        record={"id": "q-sample", "firstName": "x" * 250},
    ),
    "mappings.MappingTemplate": _mapping_template,
    "mappings.MappingTemplateVersion": lambda location, users: _mapping_template(
        location, users
    ).versions.first(),
    "mappings.Rollout": _rollout,
    "integrations.HighLevelApp": _app,
    "integrations.Connection": _connection,
    "integrations.Job": lambda location, users: Job.objects.create(
        kind="action",
        status="failed",
        location=location,
        idempotency_key=f"sample-{location.pk}",
        error_class="GhlServerError",
        error_message="HTTP 503",
    ),
    "integrations.JobAttempt": _job_attempt,
    "integrations.Subscription": _subscription,
    "integrations.LocationMintBatch": lambda location, users: LocationMintBatch.objects.create(
        agency_connection=_connection(location, users), requested=[location.location_id], total=1
    ),
    "integrations.SyncLog": lambda location, users: SyncLog.objects.create(
        connection=_connection(location, users), location=location, method="GET", path="/contacts/"
    ),
    "auth.User": lambda location, users: users["staff"],
    "auth.Group": lambda location, users: Group.objects.get(name="Support"),
    "account.EmailAddress": lambda location, users: EmailAddress.objects.create(
        user=users["staff"], email=users["staff"].email, primary=True, verified=True
    ),
    "mfa.Authenticator": lambda location, users: Authenticator.objects.create(
        user=users["superuser"],
        type=Authenticator.Type.RECOVERY_CODES,
        data={"seed": "00" * 20, "used_mask": 0},
    ),
    "portal.Agency": lambda location, users: location.agency,
    "portal.AgencySingleSignOn": _single_sign_on,
    "portal.Location": lambda location, users: location,
    "portal.AuditEvent": lambda location, users: AuditEvent.objects.create(
        actor=users["superuser"], action="sample", location=location, target="sample"
    ),
    "integrations.Verification": lambda location, users: Verification.objects.create(
        location=location, entity="contact", sample_size=10, mismatched=1, mismatch_rate=0.1
    ),
    "integrations.ErasureTombstone": lambda location, users: ErasureTombstone.objects.create(
        location=location, entity="contact", ghl_id="c-erased", reason="request"
    ),
    "integrations.EntityCoverage": lambda location, users: EntityCoverage.objects.create(
        location=location, entity="contact"
    ),
    "integrations.SpecDeviation": lambda location, users: SpecDeviation.objects.get_or_create(
        operation="GET /contacts/{contactId}", message="'id' is a required property"
    )[0],
    "integrations.WebhookEvent": lambda location, users: WebhookEvent.objects.create(
        webhook_id=f"wh-sample-{location.pk}",
        event_type="ContactCreate",
        location=location,
        payload={},
    ),
    "django_q.Success": _task(True),
    "django_q.Failure": _task(False),
    "django_q.Schedule": lambda location, users: Schedule.objects.create(
        func="math.floor", name="sample"
    ),
    "django_q.OrmQ": lambda location, users: OrmQ.objects.create(
        key="portal", payload="x", lock=timezone.now()
    ),
}

SAMPLES.update({model._meta.label: _rankr_record(model) for model in RankrRecord.__subclasses__()})
