"""The JSON API under /api/v1: every domain's router, assembled in one place."""

from __future__ import annotations

from fastapi import APIRouter

from app.auth.views import router as auth_router
from app.cooperatives.views import router as cooperatives_router
from app.exchange.import_views import router as import_router
from app.exchange.odk_views import router as odk_router
from app.exchange.views import router as exchange_router
from app.questionnaires.views import router as questionnaires_router
from app.reports.views import api_router as reports_router
from app.responses.views import router as responses_router
from app.rounds.views import router as rounds_router

api_router = APIRouter(prefix="/api/v1")
# The responses first: FastAPI tries the routes in order, and the autosave is by far the
# most frequent request (about 50 route tests fewer per save; no other router has
# /responses paths, so the order changes no match).
api_router.include_router(responses_router)
api_router.include_router(auth_router)
api_router.include_router(cooperatives_router)
api_router.include_router(rounds_router)
api_router.include_router(questionnaires_router)
api_router.include_router(reports_router)
api_router.include_router(exchange_router)
api_router.include_router(odk_router)
api_router.include_router(import_router)
