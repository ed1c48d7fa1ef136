"""``python -m reports.speedups``: compile WeasyPrint's hottest modules with Cython (see
reports/compiled.py for why and how). Run by ``make install``, .ci/run and the Dockerfile."""

from __future__ import annotations

import argparse
import sys

from .compiled import build, remove, status


def _summary(states: dict[str, str]) -> str:
    compiled = sum(state == "compiled" for state in states.values())
    others = [f"{module} ({state})" for module, state in states.items() if state not in ("compiled", "absent")]
    text = f"{compiled} de {len(states)} módulos de WeasyPrint compilados con Cython"
    return text + (": faltan " + ", ".join(others) if others else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m reports.speedups",
        description="Compila con Cython los módulos de WeasyPrint que más usa un informe.",
    )
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--check", action="store_true", help="solo revisar; sale con 1 si falta alguno")
    group.add_argument("--remove", action="store_true", help="borrar los módulos compilados")
    parser.add_argument("--force", action="store_true", help="recompilar todos")
    parser.add_argument("--jobs", type=int, default=None, help="compilaciones en paralelo (por omisión, los núcleos)")
    args = parser.parse_args(argv)

    if args.remove:
        print(f"{remove()} módulos compilados borrados; WeasyPrint vuelve a Python puro.")
        return 0
    if args.check:
        states = status()
        print(_summary(states))
        return 0 if all(state in ("compiled", "absent") for state in states.values()) else 1
    try:
        states = build(jobs=args.jobs, force=args.force)
    except ImportError as error:
        print(f"No se pudo compilar: falta {error.name} (pip install '.[speedups]').", file=sys.stderr)
        return 1
    except Exception as error:  # noqa: BLE001 - a compiler missing or failing: the reports still work, slower
        print(
            f"No se pudo compilar ({type(error).__name__}: {error}); los informes funcionan, más lentos.",
            file=sys.stderr,
        )
        return 1
    print(_summary(states))
    return 0 if all(state in ("compiled", "absent") for state in states.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
