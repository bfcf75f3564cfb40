"""Scopes: the union of the specs' ``security`` and docs/oauth/Scopes.md, at consent and on use."""

import pytest

from sandbox.access.services.registry import sandbox_app_register, spec_scopes_all
from sandbox.spec.registry import registry_get
from sandbox.spec.scopes_doc import doc_scopes_all
from tests.sandbox.access.helpers import CLIENT_ID, CLIENT_SECRET, REDIRECT, bearer, tokens_for

# Scopes.md names these; no operation's ``security`` in the specs does.
DOC_ONLY = [
    "courses.write",
    "funnels/funnel.readonly",
    "funnels/page.readonly",
    "funnels/pagecount.readonly",
    "saas/company.write",
    "saas/location.read",
    "saas/location.write",
    "snapshots.readonly",
    "socialplanner/account.write",
    "socialplanner/csv.readonly",
    "socialplanner/oauth.write",
    "socialplanner/tag.readonly",
]
TAGS = "/sandbox/services/social-media-posting/demo-loc-0001/tags"
IMPORT = "/sandbox/services/courses/courses-exporter/public/import"


def _register(scopes):
    return sandbox_app_register(
        name="Rankr",
        redirect_uris=[REDIRECT],
        scopes=scopes,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
    )


def test_the_sandbox_knows_the_union_of_spec_and_doc_scopes():
    spec = {s for op in registry_get().operations for s in op.scopes if s not in op.doc_scopes}
    union = set(spec_scopes_all())
    assert set(DOC_ONLY) <= doc_scopes_all() <= union
    assert not set(DOC_ONLY) & {
        s for op in registry_get().operations for s in op.scopes if s not in op.doc_scopes
    }
    assert spec <= union


def test_consent_accepts_every_documented_scope(company, client):
    _register(list(spec_scopes_all()))
    answer = tokens_for(client, scopes=sorted(set(spec_scopes_all())))
    assert set(DOC_ONLY) <= set(answer["scope"].split())


def test_an_endpoint_the_docs_guard_refuses_a_token_without_its_scope(company, client):
    _register(["contacts.readonly", "socialplanner/tag.readonly", "courses.write"])
    narrow = tokens_for(client, scopes=["contacts.readonly"])["access_token"]
    wide = tokens_for(client, scopes=["socialplanner/tag.readonly", "courses.write"])[
        "access_token"
    ]
    refused = client.get(TAGS, **bearer(narrow))
    assert refused.status_code == 401 and "scope" in refused.json()["message"]
    assert client.get(TAGS, **bearer(wide)).status_code == 200
    body = {"locationId": "demo-loc-0001", "userId": "u1", "importType": "new"}
    import_refused = client.post(IMPORT, body, content_type="application/json", **bearer(narrow))
    assert import_refused.status_code == 401


@pytest.mark.parametrize(
    "key,doc_scope",
    [
        (("GET", "/social-media-posting/{locationId}/tags"), "socialplanner/tag.readonly"),
        (("GET", "/snapshots/"), "snapshots.readonly"),
        (("GET", "/locations/{locationId}/tags/{tagId}"), "locations/tags.readonly"),
    ],
)
def test_scopes_md_names_the_scope_of_endpoints_the_spec_leaves_open(key, doc_scope):
    assert doc_scope in registry_get().by_key[key].scopes
