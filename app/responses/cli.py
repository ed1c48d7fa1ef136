"""``coopdiag rescore``: what the current scoring method changes in a round, and adopting it."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported lazily at run time: `coopdiag --help` does not load the database layer
    from app.responses.rescoring import RescorePlan

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def add_parsers(commands: argparse._SubParsersAction) -> None:
    rescore = commands.add_parser(
        "rescore",
        help="recalcula con el método de puntaje vigente los resultados guardados de una ronda (nueva revisión)",
    )
    rescore.add_argument(
        "--round", dest="round_ref", metavar="RONDA", required=True, help="número o nombre de la ronda"
    )
    rescore.add_argument("--dry-run", action="store_true", help="solo muestra qué semáforos cambiarían; no guarda nada")
    rescore.set_defaults(handler=command_rescore)


def change_lines(result: RescorePlan) -> list[str]:
    """One line per response whose lights change: «respuesta 17 · Coop: general verde → amarillo; …»."""
    from scoring import LIGHT_NAMES_ES, Light

    def word(light: str | None) -> str:
        return LIGHT_NAMES_ES.get(Light(light), light) if light else "sin resultado"

    lines = []
    for item in result.changed:
        parts = "; ".join(
            f"{result.titles.get(level, level).lower() if level == 'general' else result.titles.get(level, level)} "
            f"{word(old)} → {word(new)}"
            for level, old, new in item.changes
        )
        lines.append(f"  respuesta {item.response_id} · {item.cooperative_name}: {parts}")
    return lines


def command_rescore(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from app.db import session_scope
    from app.errors import ApiError
    from app.reports.cli import _round_id
    from app.responses import rescoring

    try:
        with session_scope() as session:
            round_id = _round_id(session, args.round_ref)
            if args.dry_run:
                result = rescoring.plan(session=session, user=None, round_id=round_id)
            else:
                result = rescoring.adopt(session=session, user=None, round_id=round_id)
            name = result.round.name
    except ApiError as error:
        print(f"coopdiag: error: {error.message}", file=sys.stderr)
        return EXIT_FAILED
    except SQLAlchemyError as error:
        print(f"coopdiag: error: no se pudo usar la base de datos ({type(error).__name__})", file=sys.stderr)
        return EXIT_FAILED

    total = len(result.rescored)
    print(f"Ronda «{name}»: método de puntaje vigente {result.method}.")
    if not total:
        print(
            f"Los {result.current} resultados guardados ya usan el método {result.method}; no hay nada que recalcular."
        )
    else:
        changed = len(result.changed)
        print(
            f"{total} {'resultado guardado' if total == 1 else 'resultados guardados'} con un método anterior; "
            f"{changed} {'cambia' if changed == 1 else 'cambian'} de semáforo:"
        )
        for line in change_lines(result):
            print(line)
        print(
            f"{len(result.unchanged)} sin cambios de semáforo; {result.current} ya estaban con el método {result.method}."
        )
    for response_id, cooperative, why in result.refused:
        print(f"  respuesta {response_id} · {cooperative}: no se recalculó (sus respuestas ya no son válidas: {why})")
    if args.dry_run:
        print("Simulación (--dry-run): no se guardó nada.")
    elif total:
        print(
            f"Se guardó una nueva revisión de {total} {'respuesta' if total == 1 else 'respuestas'} "
            "con el resultado recalculado; las revisiones anteriores conservan el suyo."
        )
    return EXIT_OK
