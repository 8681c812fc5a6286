# couchsync with its web app (/_app/): `docker compose up` (docker-compose.yml), or
#   docker build -t couchsync . && docker run -p 5984:5984 -v couchsync-data:/data -e COUCHSYNC_ADMIN=admin:secret couchsync
# The install and build commands are the ones CI runs (scripts/test.sh); tests/deploy checks that.

# -- build: the package in a virtualenv, the web app with esbuild (needs Node and the Python package,
#    which compiles designdocs/patient.py into the app)
FROM node:20-bookworm-slim AS node
FROM python:3.11-slim-bookworm AS build
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/lib/node_modules /usr/local/lib/node_modules
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 COUCHSYNC_PYTHON=/opt/couchsync/bin/python
WORKDIR /src
RUN python -m venv /opt/couchsync
COPY pyproject.toml ./
COPY couchsync ./couchsync
RUN /opt/couchsync/bin/pip install --no-cache-dir .
COPY package.json package-lock.json ./
# --ignore-scripts: the web build needs no native add-on (the interop peer's do, and need a compiler)
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY designdocs ./designdocs
COPY web ./web
RUN npm run build:web

# -- run: slim Python, the virtualenv and the built app, a non-root user, data in /data
FROM python:3.11-slim-bookworm
RUN useradd --system --uid 5984 --home-dir /data --shell /usr/sbin/nologin couchsync \
    && mkdir -p /data && chown couchsync:couchsync /data
COPY --from=build /opt/couchsync /opt/couchsync
COPY --from=build /src/web/dist /opt/couchsync-web
ENV PATH=/opt/couchsync/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    COUCHSYNC_HOST=0.0.0.0 \
    COUCHSYNC_PORT=5984 \
    COUCHSYNC_DATA_DIR=/data \
    COUCHSYNC_APP_DIR=/opt/couchsync-web
USER couchsync
WORKDIR /data
VOLUME ["/data"]
EXPOSE 5984
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/_up' % os.environ.get('COUCHSYNC_PORT', '5984'), timeout=4)"]
CMD ["couchsync", "serve"]
