import pytest

from tests.rankr.helpers import location_make


@pytest.fixture
def location(db):
    return location_make(number=1)


@pytest.fixture
def other_location(location):
    return location_make(agency=location.agency, number=2)
