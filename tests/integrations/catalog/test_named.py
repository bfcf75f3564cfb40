from collections import Counter

import pytest

from integrations.catalog.named import ACTION, CATEGORIES, PAGE, SPEC, TRIGGER, named_all, named_get
from integrations.catalog.registry import registry
from tests.integrations.catalog.conftest import PAGE_CATALOG

pytestmark = pytest.mark.slow  # per named trigger and action, over the whole catalog

# What the product pages print above each category ("10 Triggers 18 Actions", ...).
PAGE_CLAIMS = {
    "Contacts": (10, 18),
    "Calendars & Appointments": (13, 21),
    "Opportunities": (3, 7),
    "Users": (4, 3),
    "Conversations & Messages": (8, 2),
    "Businesses": (2, 3),
    "Workflows & Campaigns": (3, 5),
    "Other Operations": (20, 8),
}


def test_every_page_entry_is_mapped_with_its_name_category_and_kind():
    ours = {(n.name, n.category, n.kind) for n in named_all() if n.origin == PAGE}
    theirs = {(e["name"], e["category"], e["kind"]) for e in PAGE_CATALOG["operations"]}
    assert len(PAGE_CATALOG["operations"]) == 128
    assert ours == theirs


def test_rows_added_from_the_spec_are_not_on_the_pages():
    page_names = {e["name"] for e in PAGE_CATALOG["operations"]}
    added = [n for n in named_all() if n.origin == SPEC]
    assert added and not any(n.name in page_names for n in added)


def test_names_are_unique():
    names = [n.name for n in named_all()]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("named", named_all(), ids=lambda n: n.name)
def test_method_and_path_agree_with_the_spec(named):
    op = registry()[named.key]
    assert (op.method, op.path) == (named.method, named.path)


@pytest.mark.parametrize(
    "named", [n for n in named_all() if n.kind == TRIGGER], ids=lambda n: n.name
)
def test_polling_triggers_only_read(named):
    assert named.method == "GET" or "search" in named.path


def test_the_pages_claims_hold():
    kinds = Counter(n.kind for n in named_all())
    claims = PAGE_CATALOG["claimed_totals"]
    assert kinds[TRIGGER] >= claims["polling_triggers"] == 55
    assert kinds[ACTION] >= claims["actions"] == 71
    assert kinds[TRIGGER] + kinds[ACTION] >= claims["operations"]
    assert {n.category for n in named_all()} == set(CATEGORIES)
    assert len(CATEGORIES) == claims["categories"] == 14


@pytest.mark.parametrize("category, claim", PAGE_CLAIMS.items())
def test_each_category_holds_what_its_page_claims(category, claim):
    counts = Counter(n.kind for n in named_all() if n.category == category)
    assert (counts[TRIGGER], counts[ACTION]) >= claim
    assert counts[TRIGGER] >= claim[0] and counts[ACTION] >= claim[1]


def test_every_category_has_a_trigger_or_an_action_and_new_ones_have_both():
    for category in CATEGORIES:
        kinds = {n.kind for n in named_all() if n.category == category}
        assert kinds
    for category in ("Payments", "Invoices & Estimates", "Products", "Forms & Surveys"):
        assert {n.kind for n in named_all() if n.category == category} == {TRIGGER, ACTION}


def test_an_unknown_name_is_a_clear_error():
    assert named_get("Get Contact").key == "GET /contacts/{contactId}"
    with pytest.raises(KeyError, match="No named operation"):
        named_get("Teleport Contact")
