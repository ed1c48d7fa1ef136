"""`coopdiag demo` on both databases: a realistic data set, loaded once."""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path

from sqlalchemy import func, select

from app.auth.models import User
from app.cooperatives.models import Cooperative
from app.db import make_engine, make_sessionmaker
from app.demo import ACCOUNTS, load_demo
from app.responses.models import Response
from app.rounds.models import DiagnosisRound
from app.settings import Settings
from app.unit_of_work import UnitOfWork

ROOT = Path(__file__).resolve().parent.parent


def test_demo_loads_every_state_once(migrated_db_url):
    settings = Settings(database_url=migrated_db_url, questionnaires_dir=ROOT / "questionnaires")
    engine = make_engine(migrated_db_url)
    try:
        sessionmaker = make_sessionmaker(engine)
        with sessionmaker() as session, UnitOfWork(session):
            outcome = load_demo(session=session, settings=settings)
        assert outcome["created"] is True
        with sessionmaker() as session:
            assert session.scalar(select(func.count()).select_from(Cooperative)) == 30
            regions = set(session.scalars(select(Cooperative.region_code)))
            assert len(regions) == 16
            users = {u.email: u for u in session.scalars(select(User))}
            assert {a.email for a in ACCOUNTS} <= set(users)
            assert {users[a.email].role for a in ACCOUNTS} == {"admin", "analyst", "field", "manager"}
            states = Counter(session.scalars(select(Response.status)))
            assert set(states) == {"draft", "submitted", "returned", "validated"}
            assert session.scalar(select(func.count()).select_from(Response).where(Response.revision == 2)) >= 1
            for response in session.scalars(select(Response).where(Response.status.in_(["submitted", "validated"]))):
                assert response.result_snapshot["overall"]["light"] in {"green", "yellow", "red", "insufficient_data"}
                # Dated while its round was open, not on the day the demo was loaded.
                round_ = session.get(DiagnosisRound, response.round_id)
                assert round_.opens_on <= response.submitted_at.date() <= max(round_.closes_on, date.today())
                assert response.created_at <= response.submitted_at
                if response.interview_date is not None:
                    assert response.interview_date == response.created_at.date()
            pilot = session.scalar(select(DiagnosisRound).where(DiagnosisRound.name == "Piloto 2025"))
            assert {
                r.submitted_at.year for r in session.scalars(select(Response).where(Response.round_id == pilot.id))
            } == {2025}
        with sessionmaker() as session:  # a second run changes nothing
            assert load_demo(session=session, settings=settings)["created"] is False
            assert session.scalar(select(func.count()).select_from(Cooperative)) == 30
    finally:
        engine.dispose()
