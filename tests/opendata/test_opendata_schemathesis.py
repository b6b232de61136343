"""Schemathesis reads the API's OpenAPI document and sends what it allows, and much that it does not, to the live app:
no server error, no answer that breaks its own schema, no status code the document does not name.

Each operation gets a bounded number of examples, both fitting its document and breaking it, so the run stays well
under a minute.
"""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode

from busapp.core.extensions import db
from tests.live import LiveServer
from tests.opendata.test_opendata import tour  # noqa: F401 - the fixture tour, with a cancelled and a moved stop

pytestmark = pytest.mark.slow
EXAMPLES = 30
# Two things a request can get wrong that a JSON Schema cannot say: a cursor that the app did not sign (cursors are
# only ever copied from links.next), and a `from` after its `to`. A fitting request keeps neither; every other
# request that fits the document must be accepted (Schemathesis' positive_data_acceptance, with all checks on).


def fitting(case):
    """A request the document allows, with an unsigned cursor and a `to` beside a `from` taken out."""
    if case.query:
        case.query.pop("cursor", None)
        if "from" in case.query:
            case.query.pop("to", None)
    return case


@pytest.fixture
def live_api(app, tour):  # noqa: F811
    """The app with the fixture tour, served on a free port for this test only."""
    db.session.commit()
    with LiveServer(app) as server:
        yield server


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
def test_api_conforms_to_its_document(live_api, mode):
    schema = schemathesis.openapi.from_url(f"{live_api.url}/api/v1/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10
    for operation in operations:
        if mode == GenerationMode.NEGATIVE and not operation.definition.raw.get("parameters"):
            continue  # nothing to break: an address without parameters is covered by the positive run

        strategy = operation.as_strategy(generation_mode=mode)

        @given(case=strategy.map(fitting) if mode == GenerationMode.POSITIVE else strategy)
        @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                  phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
        def check(case):
            case.call_and_validate(base_url=live_api.url)

        check()
