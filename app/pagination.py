"""Offset pagination shared by the list endpoints: ``?page=1&per_page=50``."""

from __future__ import annotations

from typing import Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

T = TypeVar("T")

MAX_PER_PAGE = 200
MAX_PAGE = 1_000_000  # beyond it the offset would overflow the databases' integers


class PageParams(BaseModel):
    page: int = 1
    per_page: int = 50


def page_params(
    page: int = Query(1, ge=1, le=MAX_PAGE, description="Página, desde 1"),
    per_page: int = Query(50, ge=1, le=MAX_PER_PAGE, description="Elementos por página"),
) -> PageParams:
    return PageParams(page=page, per_page=per_page)


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    page: int
    per_page: int
    pages: int


def paginate(session: Session, statement: Select, params: PageParams) -> tuple[list, int]:
    """The rows of one page of ``statement`` (ORM entities) and the total count."""
    total = session.scalar(select(func.count()).select_from(statement.order_by(None).subquery())) or 0
    rows = session.scalars(statement.limit(params.per_page).offset((params.page - 1) * params.per_page)).unique().all()
    return list(rows), total


def page_of(items: list, total: int, params: PageParams) -> dict:
    return {
        "items": items,
        "total": total,
        "page": params.page,
        "per_page": params.per_page,
        "pages": (total + params.per_page - 1) // params.per_page,
    }
