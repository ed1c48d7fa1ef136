"""A longer schemathesis run against the whole JSON API (the CI test runs 4 examples per
operation; this one as many as asked), on a fresh SQLite file or a PostgreSQL URL.

    .venv/bin/python bench/fuzz_api.py [--examples 100] [--database-url postgresql+psycopg://...]

Prints the operations run, the time taken and every failure (a 500, an answer outside its
documented schema or content type). Exit status 1 when anything failed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from conftest import ApiEnv, sample_questionnaire  # noqa: E402
from test_schemathesis import fuzz_api, seed  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=100, help="examples per operation")
    parser.add_argument("--database-url", help="PostgreSQL URL (a temporary schema is used); default: SQLite file")
    args = parser.parse_args()

    from fastapi.testclient import TestClient

    from app.db import upgrade_database
    from app.main import create_app
    from app.settings import Settings

    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        schema = None
        if args.database_url:
            schema = f"fuzz_{uuid.uuid4().hex[:12]}"
            admin = create_engine(args.database_url, isolation_level="AUTOCOMMIT")
            with admin.connect() as connection:
                connection.execute(text(f'CREATE SCHEMA "{schema}"'))
            url = make_url(args.database_url).update_query_dict({"options": f"-csearch_path={schema}"})
            database_url = url.render_as_string(hide_password=False)
        else:
            database_url = f"sqlite:///{folder / 'fuzz.db'}"
        try:
            upgrade_database("head", database_url=database_url)
            (folder / "q").mkdir()
            (folder / "q" / "mini.yaml").write_text(sample_questionnaire(), encoding="utf-8")
            settings = Settings(
                database_url=database_url, questionnaires_dir=folder / "q", reports_cache_dir=folder / "r"
            )
            app = create_app(settings)
            with TestClient(app) as client:
                env = ApiEnv(client, app.state.sessionmaker, settings)
                seed(env)
                _, headers = env.user("admin")
                started = time.perf_counter()
                operations, failures = fuzz_api(app, headers, max_examples=args.examples)
                elapsed = time.perf_counter() - started
        finally:
            if schema:
                with admin.connect() as connection:
                    connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
                admin.dispose()
    backend = "PostgreSQL" if args.database_url else "SQLite"
    print(
        f"{operations} operations × up to {args.examples} examples on {backend}: {elapsed:.0f} s, "
        f"{len(failures)} failing operations"
    )
    for failure in failures:
        print("\n" + failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
