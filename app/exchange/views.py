"""JSON API views of the analyst exports and the observatory aggregates (under /api/v1).

Only analysts and administrators (``policy.can_export``); anyone else gets 403, no session 401.
A parameter that is not one of its values answers 422 naming it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from app.auth.models import User
from app.cooperatives.models import CooperativeState, LegalType
from app.cooperatives.service import CooperativeFilters
from app.deps import current_user, get_db, get_settings_dep
from app.exchange import aggregates, exports
from app.exchange.exports import CodebookFormat, CsvDialect, ExportFormat, Flavour, Separator, Shape
from app.pagination import PageParams, page_params
from app.responses.models import ResponseStatus
from app.settings import Settings

router = APIRouter(tags=["exportaciones y observatorio"])

Db = Annotated[Session, Depends(get_db)]
AppSettings = Annotated[Settings, Depends(get_settings_dep)]
CurrentUser = Annotated[User, Depends(current_user)]
RoundId = Annotated[int, Path(description="Número de la ronda")]

_ERRORS = {
    401: {"description": "Sin sesión ni token válido"},
    403: {"description": "Solo analistas y administradores"},
    404: {"description": "No existe la ronda"},
    422: {"description": "Un parámetro no válido (el error lo nombra)"},
}
_FILES = {
    "text/csv": {},
    exports.XLSX_MEDIA_TYPE: {},
    "application/x-ndjson": {},
    "application/json": {},
}


def cooperative_filters(
    region: int | None = Query(None, description="Código oficial (CUT) de la región"),
    macrozone: str | None = Query(None, description="Nombre de la macrozona, p. ej. Centro-Sur"),
    sector: str | None = Query(None, description="Código de rubro (vea GET /api/v1/sectors)"),
    legal_type: LegalType | None = Query(None, description="Tipo jurídico"),
    state: CooperativeState | None = Query(None, description="Estado de la cooperativa"),
) -> CooperativeFilters:
    return CooperativeFilters(
        region=region,
        macrozone=macrozone,
        sector=sector,
        legal_type=legal_type.value if legal_type else None,
        state=state.value if state else None,
    )


Filters = Annotated[CooperativeFilters, Depends(cooperative_filters)]


def csv_dialect(
    flavour: Flavour = Query(
        Flavour.STANDARD,
        description=(
            "CSV: `standard` (UTF-8, `,`, punto decimal, fechas ISO 8601) o `excel` (Excel en español de Chile: "
            "marca BOM, `;`, coma decimal, fechas dd-mm-aaaa)"
        ),
    ),
    bom: bool | None = Query(None, description="CSV: con o sin marca BOM (por omisión, la del sabor)"),
    separator: Separator | None = Query(None, description="CSV: `comma` o `semicolon` (por omisión, el del sabor)"),
) -> CsvDialect:
    return CsvDialect.of(flavour, bom=bom, separator=separator)


Dialect = Annotated[CsvDialect, Depends(csv_dialect)]


def _download(result: exports.Download | dict) -> StreamingResponse | dict:
    if isinstance(result, dict):
        return result
    return StreamingResponse(result.chunks, media_type=result.media_type, headers=result.headers)


@router.get(
    "/rounds/{round_id}/export",
    summary="Exportar las respuestas de una ronda",
    description=(
        "La revisión vigente de cada respuesta de la ronda, con los filtros de cooperativas y el estado. "
        "`shape=wide`: una fila por respuesta (cooperativa, ronda, estado, fechas, cada respuesta por "
        "identificador de pregunta, el valor de cada indicador calculado según su fórmula, y los puntajes y "
        "semáforos guardados al enviar); `shape=long`: una fila por respuesta a una pregunta (o indicador calculado). `format`: `csv` y `ndjson` se transmiten a medida que se leen; `xlsx` trae "
        "además la hoja `diccionario`; `json` es una página (`page`, `per_page` cuentan respuestas). "
        "Un texto que empieza con `=`, `+`, `-`, `@`, tabulación o retorno se escribe con un apóstrofo delante "
        "en CSV y XLSX, para que ninguna planilla lo ejecute como fórmula."
    ),
    responses={200: {"content": _FILES, "description": "El archivo, o una página JSON"}, **_ERRORS},
)
def export_round(
    round_id: RoundId,
    request: Request,
    session: Db,
    settings: AppSettings,
    user: CurrentUser,
    filters: Filters,
    dialect: Dialect,
    format: ExportFormat = Query(ExportFormat.CSV, description="csv, xlsx, json (paginado) o ndjson"),  # noqa: A002
    shape: Shape = Query(Shape.WIDE, description="wide (una fila por respuesta) o long (una por pregunta)"),
    status: ResponseStatus | None = Query(None, description="Solo respuestas en este estado"),
    params: PageParams = Depends(page_params),
):
    result = exports.export_round(
        session=session,
        sessions=request.app.state.sessionmaker,
        user=user,
        settings=settings,
        round_id=round_id,
        filters=exports.ExportFilters(cooperatives=filters, status=status.value if status else None),
        options=exports.ExportOptions(format=format, shape=shape, dialect=dialect, page=params),
    )
    return _download(result)


@router.get(
    "/rounds/{round_id}/codebook",
    summary="Diccionario de datos de las exportaciones de una ronda",
    description=(
        "Cada columna de las exportaciones: para las preguntas, su dimensión, subcategoría, texto, tipo, "
        "opciones (valor=etiqueta), unidad, condición de relevancia y fórmula; para los resultados, qué nivel "
        "describen. Las preguntas calculadas se listan con su fórmula (no se exportan)."
    ),
    responses={200: {"content": _FILES, "description": "El diccionario"}, **_ERRORS},
)
def round_codebook(
    round_id: RoundId,
    session: Db,
    user: CurrentUser,
    dialect: Dialect,
    format: CodebookFormat = Query(CodebookFormat.CSV, description="csv, xlsx o json"),  # noqa: A002
):
    return _download(
        exports.round_codebook(session=session, user=user, round_id=round_id, format=format, dialect=dialect)
    )


@router.get(
    "/rounds/{round_id}/aggregates",
    summary="Agregados del observatorio de una ronda",
    description=(
        "Con los resultados guardados de las respuestas enviadas o validadas (revisión vigente): por nivel "
        "(general, dimensión, subcategoría), cuántas tienen cada semáforo y su proporción, y los cuartiles "
        "del puntaje (0 a 100, método inclusivo), para el total y por `by`: región, macrozona, rubro (una "
        "cooperativa con varios rubros cuenta en cada uno), tipo jurídico o tamaño (socios: 0-9, 10-29, "
        "30-99, 100+, sin_dato)."
    ),
    responses=_ERRORS,
)
def round_aggregates(
    round_id: RoundId,
    session: Db,
    settings: AppSettings,
    user: CurrentUser,
    filters: Filters,
    by: aggregates.Grouping | None = Query(None, description="region, macrozone, sector, legal_type o size"),
) -> dict:
    return aggregates.round_aggregates(
        session=session, user=user, settings=settings, round_id=round_id, grouping=by, filters=filters
    )


@router.get(
    "/aggregates/change",
    summary="Cambio entre dos rondas",
    description=(
        "Para las cooperativas con resultado guardado (enviado o validado) en ambas rondas: por nivel (general "
        "y cada dimensión presente en ambas), cuántas subieron de semáforo (rojo → amarillo → verde), bajaron, "
        "se mantuvieron o no se pueden comparar (datos insuficientes o no aplica), y la mediana y los "
        "cuartiles del cambio de puntaje (posterior menos anterior)."
    ),
    responses=_ERRORS,
)
def round_change(
    session: Db,
    settings: AppSettings,
    user: CurrentUser,
    filters: Filters,
    from_round: int = Query(..., alias="from", description="Ronda anterior"),
    to_round: int = Query(..., alias="to", description="Ronda posterior"),
) -> dict:
    return aggregates.round_change(
        session=session, user=user, settings=settings, from_round_id=from_round, to_round_id=to_round, filters=filters
    )
