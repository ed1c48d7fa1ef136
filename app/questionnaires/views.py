"""JSON API views of the questionnaires domain (under /api/v1)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
