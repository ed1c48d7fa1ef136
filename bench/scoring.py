"""Scoring throughput: in-process and through `coopdiag score --batch`.

    .venv/bin/python bench/scoring.py [--count 10000] [--questionnaire questionnaires/nacional-2026.1.yaml]

Generates COUNT random valid answer sets (fixed seed) for the questionnaire,
scores them in-process on one core (validation included, as `scoring.score`
does), then pipes the same sets through the CLI's --batch mode and reports
diagnoses per second and microseconds per diagnosis for each.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scoring import Questionnaire, load_questionnaire, score, score_valid, validate_answers  # noqa: E402


def random_answers(questionnaire: Questionnaire, rng: random.Random) -> dict:
    """A valid answer set: mostly real answers, some na/ns/unanswered, like real diagnoses."""
    answers: dict = {}
    for q in questionnaire.questions:
        if q.type == "computed":
            continue
        roll = rng.random()
        if roll < 0.05:
            continue  # unanswered
        if roll < 0.09:
            answers[q.id] = "ns"
            continue
        if roll < 0.12 and q.na:
            answers[q.id] = "na"
            continue
        if q.type == "yes_no":
            answers[q.id] = rng.random() < 0.6
        elif q.type == "choice":
            answers[q.id] = rng.choice(q.options).value
        elif q.type == "multi":
            answers[q.id] = [o.value for o in q.options if rng.random() < 0.4]
        elif q.type == "number":
            low = q.min if q.min is not None else 0
            high = q.max if q.max is not None else max(low, 0) + 1_000_000_000
            value = rng.uniform(low, high)
            answers[q.id] = int(value) if q.integer else round(value, 2)
        elif q.type == "text":
            answers[q.id] = "Observación de prueba"
        elif q.type == "date":
            answers[q.id] = (dt.date(2020, 1, 1) + dt.timedelta(days=rng.randrange(2500))).isoformat()
    return answers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--questionnaire", default=str(ROOT / "questionnaires" / "nacional-2026.1.yaml"))
    parser.add_argument("--repeat", type=int, default=3, help="in-process runs; the median is reported")
    args = parser.parse_args()

    path = Path(args.questionnaire)
    questionnaire = load_questionnaire(path.read_text(encoding="utf-8"), source=path.name)
    rng = random.Random(20261121)
    sets = [random_answers(questionnaire, rng) for _ in range(args.count)]
    assert all(not validate_answers(questionnaire, a) for a in sets), "generator made an invalid answer set"

    def median_seconds(function) -> float:
        timings = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            for answers in sets:
                function(questionnaire, answers)
            timings.append(time.perf_counter() - started)
        return statistics.median(timings)

    in_process = median_seconds(score)  # validation + scoring, as the API and the CLI do
    scoring_only = median_seconds(score_valid)  # answers already validated (e.g. re-scoring stored ones)

    with tempfile.NamedTemporaryFile("wb", suffix=".jsonl", delete=False) as handle:
        for answers in sets:
            handle.write(orjson.dumps(answers) + b"\n")
        batch_file = handle.name

    def run_batch(jobs: int) -> float:
        output_file = batch_file + ".out"
        try:
            command = [sys.executable, "-m", "app.cli", "score", str(path), "--batch", batch_file, "--jobs", str(jobs)]
            with open(output_file, "wb") as output:  # a file, not a pipe: the reader would compete for the CPU
                started = time.perf_counter()
                completed = subprocess.run(command, cwd=ROOT, stdout=output, stderr=subprocess.PIPE, check=False)
                elapsed = time.perf_counter() - started
            lines = Path(output_file).read_bytes().count(b"\n")
        finally:
            if os.path.exists(output_file):
                os.unlink(output_file)
        if completed.returncode != 0 or lines != args.count:
            sys.exit(f"batch failed: exit {completed.returncode}, {lines} lines\n{completed.stderr.decode()}")
        return elapsed

    try:
        batch = run_batch(1)
        batch_parallel = run_batch(os.cpu_count() or 1)
    finally:
        os.unlink(batch_file)

    questions = len(questionnaire.questions)
    print(f"questionnaire: {questionnaire.id} {questionnaire.version} ({questions} questions)")
    print(f"answer sets: {args.count}")
    print(
        f"in-process (validate + score, 1 core, median of {args.repeat}): "
        f"{args.count / in_process:,.0f} diagnoses/s, {in_process / args.count * 1e6:.1f} µs/diagnosis"
    )
    print(
        f"in-process (score only, answers already valid, median of {args.repeat}): "
        f"{args.count / scoring_only:,.0f} diagnoses/s, {scoring_only / args.count * 1e6:.1f} µs/diagnosis"
    )
    print(
        f"--batch (process start, JSON in and out included): "
        f"{args.count / batch:,.0f} diagnoses/s, {batch / args.count * 1e6:.1f} µs/diagnosis"
    )
    print(
        f"--batch --jobs {os.cpu_count()} (one process per core): "
        f"{args.count / batch_parallel:,.0f} diagnoses/s, {batch_parallel / args.count * 1e6:.1f} µs/diagnosis"
    )


if __name__ == "__main__":
    main()
