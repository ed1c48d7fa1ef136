# coopdiag web application: migrations, then uvicorn on 0.0.0.0:8000.
# Used by docker-compose.yml (with PostgreSQL); alone it falls back to SQLite in /srv/coopdiag/var.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /srv/coopdiag

# WeasyPrint (PDF reports) needs Pango and a font, and HarfBuzz's subsetter to embed fonts
# quickly (without it a report takes about 0.15 s more); nothing else is fetched at run time.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*

# Dependencies first, exactly as locked (hash-checked, run time + the build backend): this
# layer is rebuilt only when the lock changes, not on a code change. Every package installs
# from a wheel: no compiler in the image.
COPY requirements.lock ./
RUN pip install --require-hashes --no-deps -r requirements.lock \
    && useradd --system --home-dir /srv/coopdiag --shell /usr/sbin/nologin coopdiag

COPY . .
# The project alone, on top of the locked dependencies (built with the locked setuptools).
RUN pip install --no-deps --no-build-isolation . \
    && rm -rf build *.egg-info \
    && mkdir -p var/informes \
    && chown -R coopdiag:coopdiag var

# The package is installed in site-packages: point it at the data it reads from here.
ENV COOPDIAG_MIGRATIONS_DIR=/srv/coopdiag/migrations \
    COOPDIAG_QUESTIONNAIRES_DIR=/srv/coopdiag/questionnaires \
    COOPDIAG_DATABASE_URL=sqlite:////srv/coopdiag/var/coopdiag.db \
    COOPDIAG_REPORTS_CACHE_DIR=/srv/coopdiag/var/informes

USER coopdiag
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]

# X-Forwarded-For/-Proto are believed only from COOPDIAG_TRUSTED_PROXIES, by the app itself
# (app/proxies.py): `coopdiag serve` runs uvicorn without its own proxy-header handling.
# Alone (no COOPDIAG_QUEUE_URL: the SQLite queue in var/) the container also runs a queue
# worker; docker-compose.yml gives the queue to Redis and runs the workers as their own service.
CMD ["sh", "-c", "coopdiag db upgrade && if [ -z \"$COOPDIAG_QUEUE_URL\" ]; then exec coopdiag serve --host 0.0.0.0 --port 8000 --with-worker; else exec coopdiag serve --host 0.0.0.0 --port 8000; fi"]
