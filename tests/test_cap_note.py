"""The cap rule is explained where it acts: a dimension whose score would be green but that
is yellow because one of its subcategories is red says so on the review page.

Under method 2 a red subcategory with a critical failure makes its dimension red (no cap
note: the dimension is red, not capped), so the demo's random answer sets need not give a
capped dimension. The test submits one answer set made to be capped, in a round of its own on
the national questionnaire 2026.1: the strong example (tests/data/nacional/fuerte.json) with
one subcategory without critical questions (autonomía) answered badly.
"""

from __future__ import annotations

import json
import uuid
from datetime import date
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

import scoring
from app.auth.models import User
from app.cooperatives.models import Cooperative
from app.demo import load_demo
from app.main import create_app
from app.responses import service as responses
from app.responses.models import Response
from app.rounds.service import create_round
from app.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
NOTE = "Por su puntaje sería verde"


def capped_answers() -> dict:
    """fuerte.json with autonomía red (0.5 / 3) and the intercooperation subcategory improved:
    principios scores 0.818 (green) but has a red subcategory without critical failures."""
    answers = json.loads((ROOT / "tests" / "data" / "nacional" / "fuerte.json").read_text(encoding="utf-8"))
    answers.update(
        decisiones_autonomas="deciden_terceros", continuidad_sin_apoyo="con_dificultad", negocios_intercooperativos=True
    )
    return answers


def test_the_answer_set_is_capped_by_the_cap_rule_not_red_by_the_critical_rule():
    path = ROOT / "questionnaires" / "nacional-2026.1.yaml"
    national = scoring.load_questionnaire(path.read_text(encoding="utf-8"), source=path.name)
    result = scoring.score(national, capped_answers())
    principles = result.dimension("principios")
    assert result.subcategory("autonomia").light == "red"
    assert not any(s.critical_failures for s in principles.subcategories)
    assert round(principles.score, 4) >= 0.8
    assert principles.light == "yellow" and principles.capped is True


def test_capped_dimension_is_explained(migrated_db_url):
    settings = Settings(database_url=migrated_db_url, questionnaires_dir=ROOT / "questionnaires")
    app = create_app(settings)
    with TestClient(app) as client:
        with app.state.sessionmaker() as session:
            load_demo(session=session, settings=settings)
            admin = session.scalar(select(User).where(User.email == "admin@demo.coopdiag.cl"))
            cooperative = session.scalars(
                select(Cooperative).where(Cooperative.legal_type == "agricola").order_by(Cooperative.id)
            ).first()
            cap_round = create_round(
                session=session,
                user=admin,
                name="Ronda de prueba de la regla de tope",
                opens_on=date(2026, 1, 1),
                closes_on=date(2026, 12, 31),
                state="open",
                questionnaire_id="diagnostico-nacional",
                version="2026.1",
            )
            response, _ = responses.create_response(
                session=session,
                user=admin,
                settings=settings,
                data={"cooperative_id": cooperative.id, "round_id": cap_round.id, "mode": "self", "answers": None},
                idempotency_key=str(uuid.uuid4()),
            )
            response = responses.update_answers(
                session=session,
                user=admin,
                settings=settings,
                response_id=response.id,
                answers=capped_answers(),
                version=response.version,
            )
            responses.submit(
                session=session, user=admin, settings=settings, response_id=response.id, version=response.version
            )
            session.commit()
            snapshots = session.execute(
                select(Response.id, Response.result_snapshot).where(Response.result_snapshot.is_not(None))
            ).all()
        capped = [rid for rid, snapshot in snapshots if any(d.get("capped") for d in snapshot["dimensions"])]
        plain = [
            rid
            for rid, snapshot in snapshots
            if not any(d.get("capped") for d in snapshot["dimensions"]) and not snapshot["overall"].get("capped")
        ]
        assert response.id in capped and plain
        client.post("/ingresar", data={"email": "analista@demo.coopdiag.cl", "password": "demo-analista-2026"})
        assert NOTE in client.get(f"/analisis/respuestas/{response.id}").text
        assert NOTE not in client.get(f"/analisis/respuestas/{plain[0]}").text
