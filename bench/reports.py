"""PDF report rendering time: median per report, and a 300-cooperative round on a process pool.

    .venv/bin/python bench/reports.py [--count 30] [--round 300] [--workers 2]

Builds report contexts for the national questionnaire from seeded random answers (each
cooperative gets a "quality" between 0.2 and 0.95, the chance of choosing a good answer,
so the lights span red to green; a few answers are "ns", "na" or blank), with two peer
groups (one under the minimum of 5) and, for half of them, a previous diagnosis. Then:

- renders COUNT reports one after another in this process (after one warm-up render) and
  prints the median, the quartiles and the pages per report;
- renders ROUND reports on a ProcessPoolExecutor with WORKERS processes (each builds its
  contexts from the seed, as the app's workers read theirs from the database) and prints
  the wall time, pool start-up included, and the CPU time the workers used (on a loaded
  machine wall time overstates the cost; CPU time / WORKERS is the wall time on free cores).

It first says whether HarfBuzz subsets the fonts (Debian's libharfbuzz-subset0).
"""

from __future__ import annotations

import argparse
import random
import resource
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import date, datetime, timezone
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import scoring  # noqa: E402
from app.responses.service import snapshot_of  # noqa: E402
from reports import (  # noqa: E402
    PeerGroup,
    PeerStats,
    PreviousDiagnosis,
    ReportContext,
    ReportCooperative,
    ReportDiagnosis,
    render_pdf,
)
from reports.render import prepare_worker  # noqa: E402

QUESTIONNAIRE = ROOT / "questionnaires" / "nacional-2026.1.yaml"
SEED = 20261122
REGIONS = [
    (16, "Ñuble", "Centro-Sur"),
    (9, "La Araucanía", "Sur"),
    (5, "Valparaíso", "Centro"),
    (4, "Coquimbo", "Norte"),
]


@lru_cache(maxsize=1)
def questionnaire() -> scoring.Questionnaire:
    return scoring.load_questionnaire(QUESTIONNAIRE.read_text(encoding="utf-8"), source=QUESTIONNAIRE.name)


def _best(options: tuple[scoring.Option, ...]) -> scoring.Option:
    return max(options, key=lambda o: o.score or 0)


def answers_for(rng: random.Random, quality: float) -> dict:
    """A valid answer set where each scored answer is the best one with probability ``quality``."""
    answers: dict = {}
    for q in questionnaire().questions:
        if q.type == "computed":
            continue
        roll = rng.random()
        if roll < 0.03:
            continue
        if roll < 0.06:
            answers[q.id] = "ns"
            continue
        if roll < 0.08 and q.na:
            answers[q.id] = "na"
            continue
        good = rng.random() < quality
        if q.type == "yes_no":
            answers[q.id] = good == (q.good != "no")
        elif q.type == "choice":
            answers[q.id] = (_best(q.options) if good and q.scored else rng.choice(q.options)).value
        elif q.type == "multi":
            answers[q.id] = [o.value for o in q.options if rng.random() < (0.5 if good else 0.15)]
        elif q.type == "number":
            low = q.min if q.min is not None else 0
            high = q.max if q.max is not None else 5_000_000
            value = rng.uniform(low, min(high, low + 5_000_000))
            answers[q.id] = int(value) if q.integer else round(value, 2)
    if answers.get("tipo_organizacion") == "ns":
        answers["tipo_organizacion"] = "cooperativa_constituida"
    return answers


def _stats(key: str, rng: random.Random, count: int) -> PeerStats:
    q1 = rng.uniform(30, 60)
    median = q1 + rng.uniform(5, 15)
    return PeerStats(key, count, round(median, 1), round(q1, 1), round(min(median + rng.uniform(5, 20), 100), 1))


def context_for(index: int) -> ReportContext:
    rng = random.Random(SEED + index)
    q = questionnaire()
    answers = answers_for(rng, rng.uniform(0.2, 0.95))
    snapshot = snapshot_of(scoring.score(q, answers))
    code, region, zone = rng.choice(REGIONS)
    pre = answers.get("tipo_organizacion") == "grupo_precooperativo"
    keys = ["overall"] + [d.id for d in q.dimensions]
    peers = (
        PeerGroup(f"Misma macrozona ({zone})", 40, tuple(_stats(k, rng, 40) for k in keys)),
        PeerGroup("Mismo rubro (Miel y productos apícolas)", 3),
    )
    previous = None
    if index % 2 == 0:
        old = snapshot_of(scoring.score(q, answers_for(rng, rng.uniform(0.2, 0.95))))
        previous = PreviousDiagnosis("Diagnóstico nacional 2025", old, datetime(2025, 6, 2, 14, 0, tzinfo=timezone.utc))
    interview = index % 3 == 0
    return ReportContext(
        cooperative=ReportCooperative(
            name=f"{'Grupo pre-cooperativo' if pre else 'Cooperativa Agrícola'} Número {index} de {region} Limitada",
            rut=f"{76_000_000 + index * 7}-{index % 10}",
            legal_type="precooperativo" if pre else "agricola",
            legal_type_label="Grupo pre-cooperativo" if pre else "Cooperativa agrícola",
            region_code=code,
            region_name=region,
            macrozone=zone,
            comuna="Comuna de prueba",
            sectors=("Frutas", "Hortalizas"),
        ),
        diagnosis=ReportDiagnosis(
            response_id=1000 + index,
            revision=1,
            status="validated" if index % 4 == 0 else "submitted",
            mode="interview" if interview else "self",
            round_name="Diagnóstico nacional 2026",
            status_label="validada" if index % 4 == 0 else "enviada",
            mode_label="entrevista de terreno" if interview else "autodiagnóstico",
            submitted_at=datetime(2026, 5, 4, 15, 30, tzinfo=timezone.utc),
            submitted_by="Gerencia",
            interviewer_name="Equipo de terreno" if interview else None,
            institution="Universidad de Talca" if interview else None,
            interview_date=date(2026, 5, 3) if interview else None,
            interview_place="Sede de la organización" if interview else None,
            interviewee_role="Presidente" if interview else None,
        ),
        questionnaire=q,
        snapshot=snapshot,
        answers=answers,
        generated_on=date(2026, 11, 22),
        peers=peers,
        previous=previous,
    )


def render_one(index: int) -> int:
    return len(render_pdf(context_for(index)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=30, help="reports rendered one by one for the median")
    parser.add_argument("--round", type=int, default=300, help="reports rendered on the process pool")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    from weasyprint.text import ffi

    print(f"font subsetting: {'HarfBuzz' if ffi.harfbuzz_subset is not None else 'fontTools (slow)'}")

    import io

    from pypdf import PdfReader  # only to count pages

    contexts = [context_for(i) for i in range(args.count)]
    render_pdf(contexts[0])  # warm-up: imports, fonts, stylesheet
    prepare_worker()  # as the pool's workers do (gc.freeze after start-up)
    timings, cpu, pages = [], [], []
    for context in contexts:
        started, started_cpu = time.perf_counter(), time.process_time()
        pdf = render_pdf(context)
        timings.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
        pages.append(len(PdfReader(io.BytesIO(pdf)).pages))
    q1, median, q3 = statistics.quantiles(timings, n=4)
    print(
        f"{args.count} reports, one process: median {median:.3f} s (quartiles {q1:.3f}–{q3:.3f} s; "
        f"CPU median {statistics.median(cpu):.3f} s), {statistics.median(pages):.0f} pages "
        f"(min {min(pages)}, max {max(pages)})"
    )

    if args.round:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        with ProcessPoolExecutor(max_workers=args.workers, initializer=prepare_worker) as pool:
            sizes = list(pool.map(render_one, range(args.round), chunksize=4))
        elapsed = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)  # the workers, once they have exited
        cpu_total = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
        print(
            f"{args.round} reports on {args.workers} processes: {elapsed:.1f} s "
            f"({args.round / elapsed:.1f} reports/s, {statistics.mean(sizes) / 1024:.0f} KiB per PDF); "
            f"workers' CPU {cpu_total:.1f} s, {cpu_total / args.round:.3f} s per report"
        )


if __name__ == "__main__":
    main()
