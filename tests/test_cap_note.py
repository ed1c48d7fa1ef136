"""The cap rule is explained where it acts: a dimension whose score would be green but that
is yellow because one of its subcategories is red says so on the review page."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from app.demo import load_demo
from app.main import create_app
from app.responses.models import Response
from app.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def test_capped_dimension_is_explained(migrated_db_url):
    settings = Settings(database_url=migrated_db_url, questionnaires_dir=ROOT / "questionnaires")
    app = create_app(settings)
    with TestClient(app) as client:
        with app.state.sessionmaker() as session:
            load_demo(session=session, settings=settings)
            snapshots = session.execute(select(Response.id, Response.result_snapshot).where(Response.result_snapshot.is_not(None))).all()
        capped = [rid for rid, snapshot in snapshots if any(d.get("capped") for d in snapshot["dimensions"])]
        plain = [rid for rid, snapshot in snapshots if not any(d.get("capped") for d in snapshot["dimensions"])
                 and not snapshot["overall"].get("capped")]
        assert capped and plain
        client.post("/ingresar", data={"email": "analista@demo.coopdiag.cl", "password": "demo-analista-2026"})
        assert "Por su puntaje sería verde" in client.get(f"/analisis/respuestas/{capped[0]}").text
        assert "Por su puntaje sería verde" not in client.get(f"/analisis/respuestas/{plain[0]}").text
