"""Every operation of the live OpenAPI schema, fuzzed by schemathesis against a real collector that holds
a simulated day, answers anything but a 5xx: valid and invalid requests alike get a 2xx or a 4xx.

Bounded and repeatable: a few examples per operation and mode, derandomized, about a minute or two in
all. Any endpoint added later is fuzzed too, as it appears in /openapi.json.
"""
from __future__ import annotations

import os
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup

from tests.integration.conftest import Collector, free_port

pytestmark = pytest.mark.integration
# per operation and mode (~30 operations x 2 modes); CLAUSEWATCH_FUZZ_EXAMPLES=200 digs deeper by hand
EXAMPLES_PER_MODE = int(os.environ.get("CLAUSEWATCH_FUZZ_EXAMPLES", "12"))
ROLE_OF = {"POST /api/v1/attestations": "manager", "POST /api/v1/exceptions": "manager",
           "POST /api/v1/waivers": "manager"}  # admin otherwise
SPARE_SESSIONS = 2 * EXAMPLES_PER_MODE + 10  # logout ends the session it is called with


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory):
    """A collector over a store with a simulated day, every role's user and a session token for each."""
    from collector import auth
    from collector.cli.demo import build_history
    from collector.store.sqlite import SqliteStore

    db = tmp_path_factory.mktemp("fuzz") / "cw.db"
    build_history(db, days=0.5, terminals=3, cameras=3, step_minutes=120, end=datetime.now(UTC))
    store = SqliteStore(db)
    tokens: dict[str, list[str]] = {}
    for role in auth.ROLES:
        auth.add_user(store, role, role, "correct horse battery")
        count = SPARE_SESSIONS if role == "admin" else 1
        tokens[role] = [auth.create_session(store, role, "api", timedelta(hours=2))[0] for _ in range(count)]
    auth.create_enroll_secret(store)
    store.put_evidence(b"a floor plan", "plan.txt", "text/plain")
    store.close()
    c = Collector(db, free_port())
    c.start()
    yield c, tokens
    c.kill(signal.SIGTERM)


def _fuzz(operation, base_url: str, token, mode: GenerationMode) -> list[str]:
    problems: list[str] = []
    session = requests.Session()

    @settings(max_examples=EXAMPLES_PER_MODE, derandomize=True, database=None, deadline=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case) -> None:
        try:
            case.call_and_validate(base_url=base_url, session=session, checks=[not_a_server_error],
                                   headers={"Authorization": f"Bearer {token()}"}, timeout=60)
        except (AssertionError, FailureGroup) as e:  # collect every operation's failures, then fail once
            problems.append(f"{operation.label} ({mode.value}): {str(e)[:1500]}")

    try:
        run()
    except Unsatisfiable:  # nothing to make invalid (an operation without parameters or body)
        assert mode is GenerationMode.NEGATIVE, operation.label
    return problems


def test_no_operation_answers_a_server_error(live):
    collector, tokens = live
    schema = schemathesis.openapi.from_url(collector.url + "/openapi.json")
    spare = iter(tokens["admin"][1:])
    problems: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 25, "the schema lost its operations"
    for operation in operations:
        role = ROLE_OF.get(operation.label, "admin")
        if operation.label == "POST /api/v1/auth/logout":
            def token() -> str:
                return next(spare, tokens["admin"][0])
        else:
            def token(role: str = role) -> str:
                return tokens[role][0]
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            problems += _fuzz(operation, collector.url, token, mode)
    log = Path(collector.log).read_text(errors="replace") if collector.log else ""
    assert not problems, "\n\n".join(problems) + "\n\nserver log (tail):\n" + log[-4000:]
    assert "Traceback" not in log, log[-4000:]
