"""The analysts' side of the Observatorio: publishing a round, and withdrawing it (forms on
the round's page, ``/analisis/rondas/{id}``)."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from app.observatory import publishing
from app.unit_of_work import UnitOfWork
from app.web.deps import FormPost, staff_post
from app.web.render import redirect

router = APIRouter(include_in_schema=False)


@router.post("/analisis/rondas/{round_id}/observatorio/publicar")
def publish_round(round_id: int, post: FormPost = Depends(staff_post)) -> Response:
    with UnitOfWork(post.session):
        publishing.publish(session=post.session, user=post.user, round_id=round_id)
    return redirect(
        f"/analisis/rondas/{round_id}#observatorio",
        flash="La ronda quedó publicada en el Observatorio; sus cifras se preparan en segundo plano.",
    )


@router.post("/analisis/rondas/{round_id}/observatorio/retirar")
def withdraw_round(round_id: int, post: FormPost = Depends(staff_post)) -> Response:
    with UnitOfWork(post.session):
        publishing.withdraw(session=post.session, user=post.user, round_id=round_id)
    return redirect(
        f"/analisis/rondas/{round_id}#observatorio",
        flash="La ronda se retiró del Observatorio: sus cifras ya no se publican.",
    )


__all__ = ["router"]
