"""JSON API views of the rounds domain (under /api/v1)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
