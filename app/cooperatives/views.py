"""JSON API views of the cooperatives domain (under /api/v1)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
