import pytest

from integrations.models import Subscription
from integrations.sync.jobs import job_run
from integrations.sync.subscriptions import subscription_run_now, subscription_save
from mappings.services import mapping_template_apply


@pytest.fixture
def contact_mapping(location):
    mapping, _ = mapping_template_apply(
        template_key="ghl_contact_upsert", location_id=location.pk, user_id=None
    )
    return mapping


@pytest.fixture
def make_subscription(connection, contact_mapping):
    def make(trigger="Search Contacts", **fields):
        subscription = Subscription(
            location=connection.location,
            connection=connection,
            trigger=trigger,
            mapping=contact_mapping,
            **fields,
        )
        return subscription_save(subscription=subscription, user_id=None)

    return make


def run_once(subscription, *, backfill=False):
    """Enqueue and run one job for ``subscription`` in this process; the job, refreshed."""
    job = subscription_run_now(subscription_id=subscription.pk, user_id=None, backfill=backfill)
    assert job is not None
    job_run(job_id=job.pk)
    job.refresh_from_db()
    subscription.refresh_from_db()
    return job
