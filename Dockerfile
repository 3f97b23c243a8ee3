# syntax=docker/dockerfile:1
# Central Logger: `docker build -t central-logger .` then see docs/deploy.md.
# Three stages: Node builds the dashboard, Python builds the wheel (the dashboard
# inside), and the runtime image holds only a virtual environment with that wheel.

FROM node:20-bookworm-slim AS dashboard
WORKDIR /src/web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web/ ./
RUN npm run build

FROM python:3.12-slim-bookworm AS wheel
WORKDIR /src
RUN pip install --no-cache-dir build==1.6.1
COPY pyproject.toml README.md ./
COPY src/ src/
COPY --from=dashboard /src/src/central_logger/static/ src/central_logger/static/
RUN python -m build --wheel --outdir /dist .

FROM python:3.12-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PATH=/opt/central-logger/bin:$PATH \
    PORT=8000 \
    ENVIRONMENT=production \
    LOG_FORMAT=json \
    CENTRAL_LOGGER_DATA_DIR=/data
COPY deploy/install.sh /usr/local/bin/central-logger-install
COPY --from=wheel /dist/ /tmp/dist/
RUN central-logger-install /opt/central-logger /tmp/dist/*.whl \
    && rm -rf /tmp/dist \
    && groupadd --system --gid 10001 central-logger \
    && useradd --system --uid 10001 --gid 10001 --home-dir /data --create-home central-logger
USER 10001:10001
WORKDIR /data
# Only used when DATABASE_URL is unset (the embedded PostgreSQL keeps its files here).
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ.get('PORT', '8000')}/health\", timeout=4)"]
# Migrations run at start (and are safe to run twice); a platform with a release step
# runs `central-logger migrate` there first. The port comes from $PORT.
CMD ["central-logger", "serve", "--host", "0.0.0.0"]
