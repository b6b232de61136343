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
from schemathesis.specs.openapi.checks import positive_data_acceptance

from busapp.extensions import db
from tests.live import LiveServer
from tests.test_opendata import tour  # noqa: F401 - the fixture tour, with a cancelled and a moved stop

pytestmark = pytest.mark.slow
EXAMPLES = 30
# Values a JSON Schema cannot tell apart from good ones: a cursor the app did not sign, a district that does not
# exist, a date that is well-formed but not a day (2026-02-30), a from after its to. The API refuses these with a 400
# that names the parameter; every other request that fits the document must be accepted.
SCHEMA_BLIND = {"cursor", "district", "from", "to"}


def only_schema_blind_refusals(ctx, response, case):
    """In place of Schemathesis' positive_data_acceptance: a fitting request is refused only for the reasons above."""
    if case.meta is not None and case.meta.generation.mode == GenerationMode.POSITIVE and response.status_code == 400:
        body = response.json()
        assert body.get("parameter") in SCHEMA_BLIND, f"a request that fits the document was refused: {body}"


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

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                  phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
        def check(case):
            case.call_and_validate(base_url=live_api.url, excluded_checks=[positive_data_acceptance],
                                   additional_checks=[only_schema_blind_refusals])

        check()
