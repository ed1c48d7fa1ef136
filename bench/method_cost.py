"""What the current scoring costs against an earlier commit, in instructions (not seconds).

    .venv/bin/python bench/method_cost.py --base cbfc890 [--count 1000] [--mode full|valid]

Wall-clock figures on a shared 2-core machine vary by ±50 %; valgrind's callgrind counts the
instructions executed, which repeat exactly whatever else the machine is doing. The base commit
is checked out in a temporary git worktree; both trees score the same COUNT random answer sets
(bench/scoring.py's generator, fixed seed) on nacional-2026.1, and the start-up is taken away by
also running each with no answer set. Needs valgrind (Debian package `valgrind`).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROGRAM = r"""
import importlib.util, random, sys
tree, mode, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
sys.path.insert(0, tree)
spec = importlib.util.spec_from_file_location("bench_scoring", tree + "/bench/scoring.py")
bench = importlib.util.module_from_spec(spec); spec.loader.exec_module(bench)
from scoring import load_questionnaire, score, score_valid
q = load_questionnaire(open(tree + "/questionnaires/nacional-2026.1.yaml", encoding="utf-8").read())
rng = random.Random(7)
sets = [bench.random_answers(q, rng) for _ in range(count)]
run = score if mode == "full" else score_valid
for answers in sets:
    run(q, answers)
"""


def instructions(tree: Path, mode: str, count: int, workdir: Path) -> int:
    script = workdir / "program.py"
    script.write_text(PROGRAM, encoding="utf-8")
    done = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={workdir / 'callgrind.out'}",
            sys.executable,
            str(script),
            str(tree),
            mode,
            str(count),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(re.search(r"Collected : (\d+)", done.stderr).group(1))


def per_diagnosis(tree: Path, mode: str, count: int, workdir: Path) -> float:
    return (instructions(tree, mode, count, workdir) - instructions(tree, mode, 0, workdir)) / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="the commit to compare with")
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument(
        "--mode",
        choices=("full", "valid"),
        default="full",
        help="full: validate and score (scoring.score); valid: score_valid only",
    )
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed (apt-get install valgrind)")
    with tempfile.TemporaryDirectory() as scratch:
        workdir = Path(scratch)
        base = workdir / "base"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(base), args.base], check=True)
        try:
            before = per_diagnosis(base, args.mode, args.count, workdir)
            now = per_diagnosis(ROOT, args.mode, args.count, workdir)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base)], check=True)
    print(f"mode {args.mode}, {args.count} answer sets on nacional-2026.1")
    print(f"base {args.base}: {before:,.0f} instructions per diagnosis")
    print(f"current:      {now:,.0f} instructions per diagnosis ({(now / before - 1) * 100:+.1f} %)")


if __name__ == "__main__":
    main()
