"""JSON API views of the rounds domain (under /api/v1)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from app.auth import policy
from app.auth.models import User
from app.deps import current_user, get_db
from app.errors import Forbidden
from app.pagination import PageParams, page_params
from app.rounds import service
from app.rounds.models import RoundState
from app.rounds.schemas import RoundCreate, RoundOut, RoundPage, RoundUpdate
from app.unit_of_work import UnitOfWork

router = APIRouter(tags=["rondas"])


def _require_manage(user: User) -> None:
    if not policy.can_manage_rounds(user):
        raise Forbidden("Solo un administrador puede crear o modificar rondas de diagnóstico.")


@router.get(
    "/rounds",
    response_model=RoundPage,
    summary="Rondas de diagnóstico",
    description="Lista paginada de las rondas, de la más reciente a la más antigua; cualquier usuario con sesión.",
)
def list_rounds(
    state: RoundState | None = Query(None, description="Filtrar por estado: planned, open, closed"),
    params: PageParams = Depends(page_params),
    user: User = Depends(current_user),
    session: Session = Depends(get_db),
) -> dict:
    return service.list_rounds(session=session, params=params, state=state.value if state else None)


@router.post(
    "/rounds",
    response_model=RoundOut,
    status_code=201,
    summary="Crear una ronda de diagnóstico",
    description="Solo administradores. El nombre es único; la fecha de cierre no puede ser anterior a la de apertura.",
    responses={403: {"description": "Solo administradores"}, 409: {"description": "Nombre ya usado"}},
)
def create_round(body: RoundCreate, user: User = Depends(current_user), session: Session = Depends(get_db)) -> dict:
    _require_manage(user)
    with UnitOfWork(session):
        diagnosis_round = service.create_round(session=session, user=user, **body.model_dump())
    return service.round_dict(session=session, round=diagnosis_round)


@router.get(
    "/rounds/{round_id}",
    response_model=RoundOut,
    summary="Ver una ronda de diagnóstico",
    responses={404: {"description": "No existe"}},
)
def get_round(round_id: int, user: User = Depends(current_user), session: Session = Depends(get_db)) -> dict:
    return service.round_dict(session=session, round=service.get_round(session=session, round_id=round_id))


@router.patch(
    "/rounds/{round_id}",
    response_model=RoundOut,
    summary="Modificar una ronda de diagnóstico",
    description=(
        "Solo administradores; cambia solo los campos enviados. Cambiar la versión de cuestionario "
        "de una ronda que ya tiene respuestas responde 409."
    ),
    responses={
        403: {"description": "Solo administradores"},
        404: {"description": "No existe"},
        409: {"description": "Conflicto"},
    },
)
def update_round(
    round_id: int, body: RoundUpdate, user: User = Depends(current_user), session: Session = Depends(get_db)
) -> dict:
    _require_manage(user)
    diagnosis_round = service.get_round(session=session, round_id=round_id)
    with UnitOfWork(session):
        diagnosis_round = service.update_round(
            session=session, user=user, round=diagnosis_round, changes=body.model_dump(exclude_unset=True)
        )
    return service.round_dict(session=session, round=diagnosis_round)
