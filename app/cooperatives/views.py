"""JSON API views of the cooperatives domain (under /api/v1)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from app.auth.models import User
from app.cooperatives import service
from app.cooperatives.models import CooperativeState, LegalType
from app.cooperatives.schemas import (
    CooperativeCreate,
    CooperativeOut,
    CooperativePage,
    CooperativeUpdate,
    RegionOut,
    SectorOut,
)
from app.cooperatives.sectors import SECTORS
from app.deps import current_user, get_db, get_settings_dep
from app.pagination import PageParams, page_params
from app.settings import Settings
from app.unit_of_work import UnitOfWork

router = APIRouter(tags=["cooperativas"])

_NOT_FOUND = {404: {"description": "No existe o no es visible para el usuario"}}


@router.get(
    "/cooperatives",
    response_model=CooperativePage,
    summary="Buscar cooperativas",
    description=(
        "Lista paginada de las cooperativas que el usuario puede ver (administradores y analistas: "
        "todas; equipo de terreno: las asignadas y las de sus macrozonas; gerentes: las propias). "
        "`q` busca por nombre (sin distinguir mayúsculas ni tildes) o por RUT en cualquier formato."
    ),
)
def list_cooperatives(
    q: str | None = Query(None, max_length=200, description="Nombre o RUT"),
    region: int | None = Query(None, description="Código oficial (CUT) de la región"),
    macrozone: str | None = Query(None, description="Nombre de la macrozona, p. ej. Centro-Sur"),
    sector: str | None = Query(None, description="Código de rubro (vea GET /api/v1/sectors)"),
    legal_type: LegalType | None = Query(None, description="Tipo jurídico"),
    state: CooperativeState | None = Query(None, description="Estado"),
    approved: bool | None = Query(None, description="Solo aprobadas (true) o pendientes de aprobación (false)"),
    params: PageParams = Depends(page_params),
    user: User = Depends(current_user),
    session: Session = Depends(get_db),
    settings: Settings = Depends(get_settings_dep),
) -> dict:
    filters = service.CooperativeFilters(
        q=q,
        region=region,
        macrozone=macrozone,
        sector=sector,
        legal_type=legal_type.value if legal_type else None,
        state=state.value if state else None,
        approved=approved,
    )
    return service.list_cooperatives(session=session, user=user, settings=settings, filters=filters, params=params)


@router.post(
    "/cooperatives",
    response_model=CooperativeOut,
    status_code=201,
    summary="Registrar una cooperativa",
    description=(
        "Administradores y analistas la registran aprobada. Un integrante del equipo de terreno la "
        "registra pendiente de aprobación (`approved: false`) y queda asignada a él. "
        "El RUT se valida con su dígito verificador y se guarda normalizado (76123456-7); "
        "un RUT ya registrado responde 409."
    ),
    responses={403: {"description": "El rol no permite registrar"}, 409: {"description": "RUT ya registrado"}},
)
def create_cooperative(
    body: CooperativeCreate,
    user: User = Depends(current_user),
    session: Session = Depends(get_db),
    settings: Settings = Depends(get_settings_dep),
) -> dict:
    with UnitOfWork(session):
        cooperative = service.create_cooperative(
            session=session, user=user, settings=settings, data=body.model_dump(mode="json")
        )
    return service.to_dict(cooperative, settings)


@router.get(
    "/cooperatives/{cooperative_id}",
    response_model=CooperativeOut,
    summary="Ver una cooperativa",
    responses=_NOT_FOUND,
)
def get_cooperative(
    cooperative_id: int,
    user: User = Depends(current_user),
    session: Session = Depends(get_db),
    settings: Settings = Depends(get_settings_dep),
) -> dict:
    cooperative = service.get_visible_cooperative(
        session=session, user=user, settings=settings, cooperative_id=cooperative_id
    )
    return service.to_dict(cooperative, settings)


@router.patch(
    "/cooperatives/{cooperative_id}",
    response_model=CooperativeOut,
    summary="Modificar una cooperativa",
    description=(
        "Cambia solo los campos enviados (`null` vacía un campo opcional). Administradores y analistas "
        "cambian cualquier campo; el gerente de la cooperativa solo los datos de contacto "
        "(contact_name, contact_email, contact_phone): otro campo responde 403 y no se cambia nada."
    ),
    responses={
        **_NOT_FOUND,
        403: {"description": "Sin permiso para modificar (o para ese campo)"},
        409: {"description": "RUT ya registrado"},
    },
)
def update_cooperative(
    cooperative_id: int,
    body: CooperativeUpdate,
    user: User = Depends(current_user),
    session: Session = Depends(get_db),
    settings: Settings = Depends(get_settings_dep),
) -> dict:
    cooperative = service.get_visible_cooperative(
        session=session, user=user, settings=settings, cooperative_id=cooperative_id
    )
    changes = body.model_dump(mode="json", exclude_unset=True)
    with UnitOfWork(session):
        cooperative = service.update_cooperative(
            session=session, user=user, settings=settings, cooperative=cooperative, changes=changes
        )
    return service.to_dict(cooperative, settings)


@router.post(
    "/cooperatives/{cooperative_id}/approve",
    response_model=CooperativeOut,
    summary="Aprobar una cooperativa registrada por un equipo de terreno",
    description="Solo analistas y administradores. Aprobar una cooperativa ya aprobada no cambia nada.",
    responses={**_NOT_FOUND, 403: {"description": "Solo analistas y administradores"}},
)
def approve_cooperative(
    cooperative_id: int,
    user: User = Depends(current_user),
    session: Session = Depends(get_db),
    settings: Settings = Depends(get_settings_dep),
) -> dict:
    cooperative = service.get_visible_cooperative(
        session=session, user=user, settings=settings, cooperative_id=cooperative_id
    )
    with UnitOfWork(session):
        cooperative = service.approve_cooperative(
            session=session, user=user, settings=settings, cooperative=cooperative
        )
    return service.to_dict(cooperative, settings)


@router.get(
    "/regions",
    response_model=list[RegionOut],
    tags=["catálogos"],
    summary="Regiones de Chile",
    description="Las 16 regiones con su código oficial (CUT), nombre y macrozona configurada, para formularios.",
)
def list_regions(user: User = Depends(current_user), settings: Settings = Depends(get_settings_dep)) -> list[dict]:
    return service.regions(settings=settings)


@router.get(
    "/sectors",
    response_model=list[SectorOut],
    tags=["catálogos"],
    summary="Rubros de las cooperativas",
    description="El vocabulario fijo de rubros (código y nombre en español) que acepta `sectors`.",
)
def list_sectors(user: User = Depends(current_user)) -> list[dict]:
    return [{"code": code, "label": label} for code, label in SECTORS.items()]
