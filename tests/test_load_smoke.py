"""bench/load.py in small: a few managers open a round against a real uvicorn (SQLite), so the
script cannot rot. Every manager must log in, fill, submit and get its PDF, and the database
check must find nothing lost, duplicated or unexpected."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import load  # noqa: E402
from conftest import free_port  # noqa: E402


def test_a_round_opens_with_a_few_managers_and_nothing_is_lost() -> None:
    managers = 3
    # Every manager fills from two tabs at once, so the 409 path (re-read, save again) runs.
    summary = load.run(backend="sqlite", managers=managers, port=free_port(), workers=1, second_tab=1.0, timeout=120)

    assert summary["errors"] == []
    assert summary["transport_errors"] == 0
    assert summary["replays_differing"] == 0
    assert summary["two_tabs"] == managers
    assert summary["checks"]["managers_unfinished"] == 0
    assert set(summary["checks"].values()) == {0}, summary["checks"]
    latencies = summary["latencies"]
    assert len(latencies["login"]) == 2 * managers
    assert len(latencies["create"]) == managers + 1  # manager 0 replays its creation with the same key
    # Each request either succeeded once or met a stale version (then re-read, and sent again).
    conflicts = summary["conflicts"]
    assert summary["sections_sent"] >= 10 * managers
    assert len(latencies["autosave"]) == summary["sections_sent"] + conflicts.get("autosave", 0)
    assert len(latencies["read"]) == managers + sum(conflicts.values())  # + the second tab's first read
    assert len(latencies["submit"]) == managers + conflicts.get("submit", 0)
    assert len(latencies["report"]) == managers
    assert summary["answers_sent"] > 50 * managers
    assert load.failures(summary) == 0
    table = load.markdown(summary)
    assert "| autoguardado (`PATCH /responses/{id}/answers`) |" in table and "valores perdidos 0" in table
    print(table)
