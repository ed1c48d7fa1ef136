"""JSON API views of the auth domain (under /api/v1)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
