"""``coopdiag worker``: runs the queued tasks (``app/tasks.py``) on the settings' broker, and
``coopdiag serve --with-worker`` (what ``make run`` uses): the web server with one worker
beside it, stopped with it."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
from typing import Any

EXIT_OK = 0
EXIT_USAGE = 2


def command_worker(args: argparse.Namespace) -> int:
    from app import queue
    from app.settings import get_settings

    settings = get_settings()
    kind, _, arguments = queue.broker_of(settings)
    if kind == "immediate":
        print(
            "coopdiag: COOPDIAG_QUEUE_URL=immediate: las tareas se ejecutan donde se encolan; no hace falta un worker",
            file=sys.stderr,
        )
        return EXIT_USAGE
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s: %(message)s")
    import app.tasks  # noqa: F401 - registers every task on the queue

    queue.configure(settings)
    where = arguments.get("filename") or kind
    print(f"coopdiag worker: {args.workers} proceso(s), cola {kind} ({where})", flush=True)
    consumer = queue.huey.create_consumer(workers=args.workers, worker_type=args.worker_type, periodic=True)
    consumer.run()
    return EXIT_OK


def command_serve(args: argparse.Namespace) -> int:
    import uvicorn

    worker: subprocess.Popen[Any] | None = None
    if args.with_worker:
        worker = subprocess.Popen([sys.executable, "-m", "app.cli", "worker"], env=os.environ.copy())
    try:
        # Forwarded headers are read by the app, from COOPDIAG_TRUSTED_PROXIES only (app/proxies.py).
        uvicorn.run("app.main:app", host=args.host, port=args.port, workers=args.workers, proxy_headers=False)
    finally:
        if worker is not None and worker.poll() is None:
            worker.send_signal(signal.SIGINT)  # huey's graceful stop: finishes the task at hand
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
    return EXIT_OK


def add_parsers(commands: Any) -> None:
    worker = commands.add_parser(
        "worker", help="ejecuta las tareas en cola (informes PDF, correos) con la cola de COOPDIAG_QUEUE_URL"
    )
    worker.add_argument("--workers", type=int, default=1, help="procesos que ejecutan tareas a la vez (1)")
    worker.add_argument(
        "--worker-type",
        choices=("process", "thread"),
        default="process",
        help="process (por omisión: un informe PDF ocupa un núcleo) o thread",
    )
    worker.set_defaults(handler=command_worker)

    serve = commands.add_parser("serve", help="sirve la aplicación web")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument(
        "--with-worker", action="store_true", help="inicia también un worker de la cola (lo que hace make run)"
    )
    serve.set_defaults(handler=command_serve)
