"""Hostile input against the whole JSON API: schemathesis generates requests from
/openapi.json (valid and invalid bodies, queries, path ids) and sends them as an admin (who
reaches every operation). No answer may be a 500, break its documented schema or content type.

A bounded run here (a few examples per operation, on both backends); `bench/fuzz_api.py`
runs the same check with many more examples.
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]


def fuzz_api(app, headers: dict[str, str], *, max_examples: int) -> tuple[int, list[str]]:
    """Run every operation of the app's OpenAPI schema; (operations run, failures in words)."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @settings(
            max_examples=max_examples,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def run(case) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            run()
        except Exception as error:  # noqa: BLE001 - every failing operation is reported
            failures.append(f"{operation.method.upper()} {operation.path}: {str(error)[:800]}")
    return operations, failures


def seed(env) -> None:
    """A cooperative, a round and a response, so small ids in generated paths find records."""
    from datetime import date

    from sqlalchemy import select

    from app.cooperatives.models import Cooperative
    from app.questionnaires.models import QuestionnaireVersion
    from app.responses.models import Response
    from app.rounds.models import DiagnosisRound

    with env.session() as session:
        version = session.scalar(select(QuestionnaireVersion))
        coop = Cooperative(rut="76123456-0", name="Cooperativa Semilla", legal_type="campesina", region_code=7)
        round_ = DiagnosisRound(
            name="Ronda 2026",
            questionnaire_version_id=version.id,
            opens_on=date(2026, 1, 1),
            closes_on=date(2026, 12, 31),
            state="open",
        )
        session.add_all([coop, round_])
        session.flush()
        session.add(Response(cooperative_id=coop.id, round_id=round_.id, mode="self", answers={}))
        session.commit()


def test_no_server_errors_and_answers_follow_the_schema(api_env):
    seed(api_env)
    _, headers = api_env.user("admin")
    operations, failures = fuzz_api(api_env.client.app, headers, max_examples=4)
    assert operations >= 40
    assert not failures, "\n\n".join(failures)
