"""`coopdiag demo`: a realistic demonstration data set, loaded through the services.

About 30 cooperatives across regions and sectors, a closed pilot round and an open
national round on the national questionnaire, responses in every state (draft,
submitted, returned with a comment, validated, reopened as a new revision), and one
user per role. Everything goes through the same services as the API, so the audit
trail and the result snapshots are real. Deterministic (fixed seed) and idempotent:
a database that already has the demo users is left as it is.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from stdnum.cl import rut as cl_rut

import scoring
from app.auth.models import Role, User
from app.auth.service import create_user
from app.cooperatives.models import Cooperative, CooperativeState, LegalType
from app.cooperatives.service import create_cooperative
from app.observatory import publishing as observatory
from app.questionnaires.models import QuestionnaireVersion
from app.questionnaires.service import register_questionnaires
from app.responses import service as responses
from app.rounds.service import create_round, get_round_questionnaire, update_round
from app.settings import Settings

PILOT = ("diagnostico-nacional", "2026.1")
NATIONAL = ("diagnostico-nacional", "2027.1")
# Multi-select options that mean "none of these": never chosen together with another option.
EXCLUSIVE_OPTIONS = ("ninguno", "ninguna", "no_vende")


@dataclass(frozen=True)
class DemoAccount:
    role: str
    email: str
    password: str
    name: str
    institution: str | None = None


ACCOUNTS = (
    DemoAccount(Role.ADMIN, "admin@demo.coopdiag.cl", "demo-admin-2026", "Administración coopdiag"),
    DemoAccount(Role.ANALYST, "analista@demo.coopdiag.cl", "demo-analista-2026", "Camila Rojas (ODEPA)", "ODEPA"),
    DemoAccount(Role.FIELD, "terreno@demo.coopdiag.cl", "demo-terreno-2026", "Diego Muñoz", "Universidad de Talca"),
    DemoAccount(Role.MANAGER, "gerente@demo.coopdiag.cl", "demo-gerente-2026", "Patricia Soto"),
)

# (name, legal type, region code, comuna, sectors, founding year)
COOPERATIVES: tuple[tuple[str, LegalType, int, str, list[str], int | None], ...] = (
    ("Cooperativa Agrícola Valle de Azapa", LegalType.AGRICOLA, 15, "Arica", ["hortalizas"], 1998),
    ("Cooperativa Campesina Altiplano Aymara", LegalType.CAMPESINA, 1, "Colchane", ["ganaderia"], 2004),
    ("Cooperativa Agrícola Pisquera del Limarí", LegalType.AGRICOLA, 4, "Ovalle", ["vitivinicola"], 1963),
    ("Cooperativa Caprinera Los Choros", LegalType.CAMPESINA, 4, "La Higuera", ["lacteos", "ganaderia"], 2011),
    ("Grupo de Productoras Huasco Alto", LegalType.PRECOOPERATIVO, 3, "Alto del Carmen", ["fruticultura"], None),
    ("Cooperativa Hortícola de Quillota", LegalType.AGRICOLA, 5, "Quillota", ["hortalizas", "fruticultura"], 1987),
    ("Cooperativa Apícola Petorca", LegalType.AGRICOLA, 5, "Petorca", ["apicola"], 2015),
    (
        "Cooperativa de Servicios Agrícolas Melipilla",
        LegalType.SERVICIOS,
        13,
        "Melipilla",
        ["servicios", "agua_riego"],
        1995,
    ),
    ("Cooperativa Lechera de Paine", LegalType.AGRICOLA, 13, "Paine", ["lacteos"], 1972),
    ("Cooperativa Frutícola Colchagua", LegalType.AGRICOLA, 6, "Santa Cruz", ["fruticultura", "vitivinicola"], 2001),
    ("Grupo Pre-cooperativo Mujeres de Pichilemu", LegalType.PRECOOPERATIVO, 6, "Pichilemu", ["hortalizas"], None),
    ("Cooperativa Campesina Vinos del Maule", LegalType.CAMPESINA, 7, "Cauquenes", ["vitivinicola"], 2009),
    ("Cooperativa Agrícola Berries de Linares", LegalType.AGRICOLA, 7, "Linares", ["berries"], 2012),
    ("Cooperativa de Riego Canal Melozal", LegalType.SERVICIOS, 7, "San Javier", ["agua_riego"], 1979),
    (
        "Cooperativa Campesina Ñuble Sustentable",
        LegalType.CAMPESINA,
        16,
        "San Carlos",
        ["cereales", "hortalizas"],
        2017,
    ),
    ("Cooperativa Agrícola Frutos Secos de Ñiquén", LegalType.AGRICOLA, 16, "Ñiquén", ["frutos_secos"], 2014),
    ("Cooperativa Forestal Nahuelbuta", LegalType.FORESTAL, 8, "Santa Juana", ["forestal"], 2006),
    (
        "Cooperativa de Pequeños Agricultores de Arauco",
        LegalType.CAMPESINA,
        8,
        "Cañete",
        ["hortalizas", "ganaderia"],
        1999,
    ),
    ("Cooperativa Mapuche Küme Mongen", LegalType.CAMPESINA, 9, "Temuco", ["hortalizas", "otro"], 2016),
    ("Cooperativa Triguera de Victoria", LegalType.AGRICOLA, 9, "Victoria", ["cereales"], 1968),
    (
        "Grupo de Recolectoras de Frutos del Bosque Curarrehue",
        LegalType.PRECOOPERATIVO,
        9,
        "Curarrehue",
        ["forestal"],
        None,
    ),
    ("Cooperativa Lechera de La Unión", LegalType.AGRICOLA, 14, "La Unión", ["lacteos"], 1949),
    ("Cooperativa Apícola Valdivia", LegalType.AGRICOLA, 14, "Valdivia", ["apicola"], 2010),
    ("Cooperativa Campesina de Chiloé Papas Nativas", LegalType.CAMPESINA, 10, "Ancud", ["hortalizas"], 2008),
    ("Cooperativa Agrícola y Lechera de Osorno", LegalType.AGRICOLA, 10, "Osorno", ["lacteos", "ganaderia"], 1955),
    ("Cooperativa Forestal Llanquihue", LegalType.FORESTAL, 10, "Puerto Varas", ["forestal"], 2003),
    ("Cooperativa Ganadera de Coyhaique", LegalType.AGRICOLA, 11, "Coyhaique", ["ganaderia"], 1990),
    ("Cooperativa de Hortaliceros de Aysén", LegalType.CAMPESINA, 11, "Puerto Aysén", ["hortalizas", "flores"], 2013),
    ("Cooperativa Ovejera de Magallanes", LegalType.AGRICOLA, 12, "Puerto Natales", ["ganaderia"], 1961),
    ("Cooperativa Agrícola Oasis de Calama", LegalType.OTRA, 2, "Calama", ["hortalizas", "flores"], 2019),
)

FIRST_NAMES = ("María", "José", "Juana", "Luis", "Carmen", "Pedro", "Rosa", "Jorge", "Ana", "Héctor", "Elena", "Raúl")
LAST_NAMES = (
    "González",
    "Muñoz",
    "Rojas",
    "Díaz",
    "Pérez",
    "Soto",
    "Contreras",
    "Silva",
    "Martínez",
    "Sepúlveda",
    "Núñez",
)

# The fate of each cooperative in the open round, cycled over the list.
PLAN = (
    "validated",
    "submitted",
    "draft",
    "returned",
    "validated",
    "none",
    "submitted",
    "reopened",
    "draft",
    "validated",
    "returned",
    "none",
    "submitted",
    "validated",
    "draft",
)


def _rut(rng: random.Random) -> str:
    number = str(rng.randrange(65_000_000, 77_000_000))
    return f"{number}-{cl_rut.calc_check_digit(number)}"


def _answers(
    questionnaire: scoring.Questionnaire, cooperative: Cooperative, quality: float, rng: random.Random
) -> dict[str, Any]:
    """A plausible complete answer set that passes the questionnaire's error checks: good
    practices adopted with probability ``quality``, figures that add up (parts within their totals)."""
    for _ in range(50):
        answers = _draw_answers(questionnaire, cooperative, quality, rng)
        if not any(check.severity == "error" for check in scoring.failed_checks(questionnaire, answers)):
            return answers
    raise RuntimeError(f"No se pudo generar un diagnóstico coherente de demostración para {cooperative.name}.")


def _figures(cooperative: Cooperative, quality: float, rng: random.Random) -> dict[str, Any]:
    """The figures of the demo cooperative, consistent with each other and with its registry entry."""
    members_women = cooperative.members_women or 0
    members_men = cooperative.members_men or 0
    members = max(members_women + members_men, 1)
    assets = rng.randrange(30, 900) * 1_000_000
    sales = int(assets * rng.uniform(0.4, 1.6))
    subsidies = int(sales * rng.uniform(0, 0.6) * (1.2 - quality))
    subscribed = rng.randrange(5, 200) * 1_000_000
    permanent, seasonal = rng.randint(0, 12), rng.randint(0, 40)
    board, supervisors = 5, 3
    figures = {
        "anio_inicio": cooperative.founding_year or 2022,
        "socios_total": members_women + members_men,
        "activo_total": assets,
        "activo_corriente": int(assets * rng.uniform(0.2, 0.6)),
        "pasivo_total": int(assets * rng.uniform(0.1, 0.9) * (1.4 - quality)),
        "ventas": sales,
        "costos_operacionales": int(sales * rng.uniform(0.8, 1.1) * (1.15 - quality * 0.2)),
        "subsidios": subsidies,
        "subsidios_total": subsidies,
        "subsidios_inversion": int(subsidies * rng.uniform(0, 1)),
        "capital_suscrito": subscribed,
        "capital_pagado": int(subscribed * rng.uniform(0.4, 1.0)),
        "socios_mujeres": members_women,
        "socias_mujeres": members_women,
        "socios_hombres": members_men,
        "socios_menores_35": min(cooperative.members_under_35 or 0, members),
        "socios_nuevos_3_anios": rng.randint(0, members // 4),
        "socios_organizaciones": rng.randint(0, 2),
        "trabajadores_permanentes": permanent,
        "trabajadoras_permanentes": rng.randint(0, permanent),
        "trabajadores_temporada": seasonal,
        "trabajadoras_temporada": rng.randint(0, seasonal),
        "asistentes_junta": min(int(members * rng.uniform(0.3, 1.0) * (0.5 + quality / 2)), members),
        "integrantes_consejo": board,
        "consejeras": rng.randint(0, 3),
        "mujeres_consejo": rng.randint(0, 3),
        "integrantes_vigilancia": supervisors,
        "mujeres_vigilancia": rng.randint(0, supervisors),
        "socios_que_operaron": int(members * rng.uniform(0.3, 1.0)),
        "entrega_produccion_socios": round(rng.uniform(20, 100) * (0.5 + quality / 2), 1),
        "negocio_con_terceros": round(rng.uniform(0, 60) * (1.2 - quality), 1),
        "principal_comprador": rng.randint(10, 95),
    }
    figures["pasivo_corriente"] = max(int(figures["pasivo_total"] * rng.uniform(0.3, 0.8)), 1)
    figures["excedente"] = figures["ventas"] - figures["costos_operacionales"]
    return figures


def _draw_answers(
    questionnaire: scoring.Questionnaire, cooperative: Cooperative, quality: float, rng: random.Random
) -> dict[str, Any]:
    figures = _figures(cooperative, quality, rng)
    group = cooperative.legal_type == LegalType.PRECOOPERATIVO
    answers: dict[str, Any] = {}
    for question in questionnaire.questions:
        if question.type == "computed":
            continue
        if question.id == "tipo_organizacion":
            answers[question.id] = "grupo_precooperativo" if group else "cooperativa_constituida"
        elif question.id in figures:
            value = figures[question.id]
            if question.max is not None:
                value = min(value, question.max)
            if question.min is not None:
                value = max(value, question.min)
            answers[question.id] = value
        elif question.type == "yes_no":
            # Legal must-haves (critical) fail far less often than other practices, as in the field.
            adopted = rng.random() < (1 - (1 - quality) / 4 if question.critical else quality)
            answers[question.id] = adopted == (question.good != "no")
        elif question.type == "choice":
            options = sorted(question.options, key=lambda option: option.score or 0)
            target = quality * (len(options) - 1) + rng.uniform(-1, 1)
            answers[question.id] = options[min(max(round(target), 0), len(options) - 1)].value
        elif question.type == "multi":
            chosen = [
                option.value
                for option in question.options
                if option.value not in EXCLUSIVE_OPTIONS and rng.random() < quality * 0.5
            ][:3]
            exclusive = [option.value for option in question.options if option.value in EXCLUSIVE_OPTIONS]
            answers[question.id] = chosen or exclusive[:1]
        elif question.type == "number":
            low = question.min if question.min is not None else 0
            high = question.max if question.max is not None else low + 100
            answers[question.id] = (
                rng.randint(int(low), int(high)) if question.integer else round(rng.uniform(low, high), 1)
            )
    if rng.random() < 0.3:
        answers[rng.choice([q.id for q in questionnaire.questions if q.type in ("choice", "yes_no")])] = "ns"
    relevant = scoring.relevant_questions(questionnaire, answers)
    return {qid: value for qid, value in answers.items() if relevant[qid]}


def _person(rng: random.Random) -> str:
    return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"


def load_demo(*, session: Session, settings: Settings, questionnaires_dir: Path | None = None) -> dict[str, Any]:
    """Load the demo data set in the caller's unit of work (all or nothing); returns what was
    done. Idempotent."""
    if session.scalar(select(User.id).where(User.email == ACCOUNTS[0].email)) is not None:
        return {"created": False, "accounts": ACCOUNTS}
    rng = random.Random(2026)
    register_questionnaires(session=session, directory=Path(questionnaires_dir or settings.questionnaires_dir))
    session.flush()

    def version_of(key: tuple[str, str]) -> QuestionnaireVersion:
        found = session.scalar(
            select(QuestionnaireVersion).where(
                QuestionnaireVersion.questionnaire_id == key[0], QuestionnaireVersion.version == key[1]
            )
        )
        if found is None:
            raise RuntimeError(f"No se encontró el cuestionario {key[0]} {key[1]} en {settings.questionnaires_dir}.")
        return found

    pilot_version, national_version = version_of(PILOT), version_of(NATIONAL)

    users = {
        account.role: create_user(
            session=session,
            email=account.email,
            full_name=account.name,
            role=account.role,
            password=account.password,
            institution=account.institution,
        )
        for account in ACCOUNTS
    }
    session.flush()
    admin = users[Role.ADMIN]

    cooperatives: list[Cooperative] = []
    for name, legal_type, region, comuna, sectors, founded in COOPERATIVES:
        women, men = rng.randint(4, 60), rng.randint(4, 90)
        contact = _person(rng)
        cooperatives.append(
            create_cooperative(
                session=session,
                user=admin,
                settings=settings,
                data={
                    "rut": _rut(rng),
                    "name": name,
                    "legal_type": legal_type.value,
                    "daes_number": None if legal_type == LegalType.PRECOOPERATIVO else str(rng.randrange(1000, 9999)),
                    "state": CooperativeState.EN_FORMACION.value
                    if legal_type == LegalType.PRECOOPERATIVO
                    else rng.choice([CooperativeState.ACTIVA.value] * 5 + [CooperativeState.INACTIVA.value]),
                    "legally_current": legal_type != LegalType.PRECOOPERATIVO and rng.random() < 0.85,
                    "region_code": region,
                    "comuna": comuna,
                    "sectors": sectors,
                    "members_women": women,
                    "members_men": men,
                    "members_under_35": rng.randint(0, (women + men) // 4),
                    "founding_year": founded,
                    "contact_name": contact,
                    "contact_email": f"contacto{len(cooperatives) + 1}@cooperativa-demo.cl",
                    "contact_phone": f"+56 9 {rng.randrange(1000, 9999)} {rng.randrange(1000, 9999)}",
                    "notes": None,
                },
            )
        )

    # The manager runs two cooperatives; the field member covers the Centro-Sur macrozone.
    manager_coops = [cooperatives[9], cooperatives[12]]
    from app.auth.models import UserCooperative, UserMacrozone

    for cooperative in manager_coops:
        session.add(UserCooperative(user_id=users[Role.MANAGER].id, cooperative_id=cooperative.id))
    session.add(UserMacrozone(user_id=users[Role.FIELD].id, macrozone="Centro-Sur"))
    session.flush()
    for user in users.values():
        session.refresh(user)  # their cooperative and macrozone links

    pilot = create_round(
        session=session,
        user=admin,
        name="Piloto 2025",
        opens_on=date(2025, 9, 1),
        closes_on=date(2025, 12, 15),
        state="open",
        questionnaire_version_id=pilot_version.id,
    )
    national = create_round(
        session=session,
        user=admin,
        name="Diagnóstico nacional 2026",
        opens_on=date(2026, 9, 1),
        closes_on=date(2026, 12, 31),
        state="open",
        questionnaire_version_id=national_version.id,
    )

    field_regions = set(settings.macrozones.get("Centro-Sur", []))

    def author_for(cooperative: Cooperative) -> tuple[User, str, dict[str, Any]]:
        if cooperative.id in {c.id for c in manager_coops}:
            return users[Role.MANAGER], "self", {}
        if cooperative.region_code in field_regions or rng.random() < 0.5:
            details = {
                "interviewer_name": users[Role.FIELD].full_name,
                "institution": users[Role.FIELD].institution,
                "interview_date": date(2026, 10, rng.randint(1, 28)),
                "interview_place": f"Sede de la cooperativa, {cooperative.comuna}",
                "interviewee_role": rng.choice(
                    ["Gerente", "Presidente del consejo", "Presidenta del consejo", "Tesorera"]
                ),
            }
            return (users[Role.FIELD] if cooperative.region_code in field_regions else admin), "interview", details
        return admin, "self", {}

    now = datetime.now(timezone.utc)

    def respond(cooperative: Cooperative, diagnosis_round, fate: str, quality: float) -> None:
        if fate == "none":
            return
        author, mode, details = author_for(cooperative)
        # Dated within the round, as if answered while it was open (never after today).
        started = datetime.combine(diagnosis_round.opens_on, time(10), timezone.utc) + timedelta(
            days=rng.randint(0, 40), minutes=rng.randint(0, 480)
        )
        started = min(started, now - timedelta(days=30))
        sent = min(started + timedelta(days=rng.randint(1, 20), minutes=rng.randint(0, 300)), now)
        checked = min(sent + timedelta(days=rng.randint(2, 12), minutes=rng.randint(0, 300)), now)
        if "interview_date" in details:
            details = {**details, "interview_date": started.date()}
        response, _ = responses.create_response(
            at=started,
            session=session,
            user=author,
            settings=settings,
            data={
                "cooperative_id": cooperative.id,
                "round_id": diagnosis_round.id,
                "mode": mode,
                "answers": None,
                **details,
            },
            idempotency_key=str(uuid.UUID(int=rng.getrandbits(128))),
        )
        answers = _answers(get_round_questionnaire(session=session, round=diagnosis_round), cooperative, quality, rng)
        if fate == "draft":
            keep = list(answers)[: len(answers) // 2]
            answers = {qid: answers[qid] for qid in keep}
        response = responses.update_answers(
            at=started,
            session=session,
            user=author,
            settings=settings,
            response_id=response.id,
            answers=answers,
            version=response.version,
        )
        if fate == "draft":
            return
        response = responses.submit(
            session=session,
            user=author,
            settings=settings,
            response_id=response.id,
            version=response.version,
            at=sent,
        )
        analyst = users[Role.ANALYST]
        if fate == "returned":
            responses.return_for_correction(
                session=session,
                user=analyst,
                settings=settings,
                response_id=response.id,
                version=response.version,
                comment="Revise las cifras del balance: el pasivo corriente parece incompleto.",
            )
        elif fate in ("validated", "reopened"):
            response = responses.validate(
                session=session,
                user=analyst,
                settings=settings,
                response_id=response.id,
                version=response.version,
                at=checked,
            )
            if fate == "reopened":
                responses.reopen(
                    session=session,
                    user=analyst,
                    settings=settings,
                    response_id=response.id,
                    version=response.version,
                    comment="Se reabre para actualizar las cifras del ejercicio 2026.",
                )

    for cooperative in cooperatives[:12]:
        respond(cooperative, pilot, "validated", rng.uniform(0.3, 0.85))
    update_round(session=session, user=admin, round=pilot, changes={"state": "closed"})
    for index, cooperative in enumerate(cooperatives):
        respond(cooperative, national, PLAN[index % len(PLAN)], rng.uniform(0.25, 0.95))
    # The public Observatorio shows both rounds (the pilot's figures, and the change since).
    for diagnosis_round in (pilot, national):
        observatory.publish(session=session, user=users[Role.ANALYST], round_id=diagnosis_round.id)
    return {"created": True, "accounts": ACCOUNTS, "cooperatives": len(cooperatives)}
