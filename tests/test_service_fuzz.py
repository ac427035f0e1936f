"""Property test of the HTTP API against its own OpenAPI document (schemathesis).

Requests generated from the schema, valid ones and invalid ones, must never produce a
server error, and every answer must be one the document declares (status, content type,
body schema). Bounded: a dozen examples per operation and
mode, well under a minute. (schemathesis' pytest plugin is not used: its fixture loader
does not run on pytest 9; the operations' strategies are driven by Hypothesis directly.)
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from service_helpers import AUTH, make_app

# Not negative_data_rejection: the token is always added (so its "missing header"
# cases arrive authorised), and a repeated query parameter takes its last value, as
# HTTP frameworks do; both are accepted on purpose.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory, default_session):
    app = make_app(tmp_path_factory.mktemp("fuzz"), default_session)
    yield schemathesis.openapi.from_asgi("/openapi.json", app)
    # schemathesis runs the app's lifespan in its own loop: stop the sessions, close the DB.
    asgi.shutdown_lifespans()


def _operations(schema):
    return [result.ok() for result in schema.get_all_operations()]


def test_every_operation_is_covered(api_schema):
    names = {f"{op.method.upper()} {op.path}" for op in _operations(api_schema)}
    assert {"POST /api/sessions", "GET /api/sessions/{session_id}/raw.csv", "GET /healthz"} <= names
    assert len(names) >= 13


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_the_api_never_fails_on_generated_input(api_schema, mode):
    for operation in _operations(api_schema):

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=12,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case):
            case.call_and_validate(headers=AUTH, checks=CHECKS)

        try:
            run()
        except Unsatisfiable:
            # Nothing to make invalid (no parameters, no body: GET /healthz, ...).
            assert mode is GenerationMode.NEGATIVE, operation.path
