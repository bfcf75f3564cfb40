import json
from pathlib import Path

import pytest

from integrations.catalog.connections import ConnectionInfo
from integrations.catalog.registry import AGENCY, LOCATION

# The product pages' catalog, copied verbatim from shared/product/catalog.json.
PAGE_CATALOG = json.loads((Path(__file__).parent / "data" / "catalog.json").read_text())


@pytest.fixture
def location_connection():
    return ConnectionInfo(
        id=7,
        label="Acme Dental",
        access=LOCATION,
        location_id="LOC123",
        company_id="CO9",
        granted_scopes=("contacts.readonly", "contacts.write", "calendars.readonly"),
    )


@pytest.fixture
def agency_connection():
    return ConnectionInfo(
        id=8,
        label="Acme Agency",
        access=AGENCY,
        company_id="CO9",
        granted_scopes=("locations.readonly", "companies.readonly", "snapshots.readonly"),
    )
