# syntax=docker/dockerfile:1
# followup worker image. `docker compose up` (compose.yaml) runs it next to PostgreSQL;
# `docker build -t followup .` builds it alone.

# One pinned tag for both stages: the virtual environment built in the first links to, and holds
# C extensions compiled for, exactly the interpreter of the second.
ARG PYTHON_IMAGE=python:3.11.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
# Pinned so that a rebuild next month makes the same image. setuptools and wheel build the one
# dependency PyPI has no wheel for (authres, a setup.py sdist); hatchling is followup's own backend.
ARG PIP_VERSION=26.3
ARG SETUPTOOLS_VERSION=84.2.1
ARG WHEEL_VERSION=0.48.0
ARG HATCHLING_VERSION=1.33.0
ENV PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
# The build tools live in a venv of their own, so none of them reaches the runtime image.
RUN python -m venv /opt/tools \
 && /opt/tools/bin/pip install --no-cache-dir "pip==${PIP_VERSION}" \
 && /opt/tools/bin/pip install --no-cache-dir "setuptools==${SETUPTOOLS_VERSION}" "wheel==${WHEEL_VERSION}" \
        "hatchling==${HATCHLING_VERSION}" \
 && python -m venv /opt/followup \
 && /opt/followup/bin/pip install --no-cache-dir "pip==${PIP_VERSION}"

# The dependencies from pyproject.toml alone, before any code: this layer (most of the build time and
# of the image) is rebuilt when [project].dependencies change, not at every change to service/.
# --no-build-isolation: sdists are built with the pinned tools above, not whatever PyPI has that day.
COPY pyproject.toml ./
RUN /opt/tools/bin/python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
 && /opt/tools/bin/pip wheel --no-cache-dir --no-build-isolation --wheel-dir /tmp/wheels -r /tmp/requirements.txt \
 && /opt/followup/bin/pip install --no-cache-dir --no-index --find-links /tmp/wheels -r /tmp/requirements.txt \
 && rm -rf /tmp/wheels

# README.md: pyproject's readme field, read by the build backend. The wheel carries templates/ (as
# service/templates), the detector's artefacts and the Alembic migrations; nothing else is copied.
COPY README.md ./
COPY service ./service
COPY templates ./templates
# --no-deps: the layer above installed them; a dependency missing there fails `pip check` here.
# pip and setuptools go last: the worker never installs anything, and they are code an attacker
# inside the container could use.
RUN /opt/tools/bin/pip wheel --no-cache-dir --no-deps --no-build-isolation --wheel-dir /tmp/dist . \
 && /opt/followup/bin/pip install --no-cache-dir --no-deps /tmp/dist/followup-*.whl \
 && /opt/followup/bin/pip check \
 && /opt/followup/bin/python -m pip uninstall --yes pip setuptools \
 && rm -rf /tmp/dist /tmp/requirements.txt

FROM ${PYTHON_IMAGE}
# A fixed uid and gid, so that a bind-mounted data folder can be given to them on the host.
RUN groupadd --system --gid 10001 followup \
 && useradd --system --uid 10001 --gid followup --home-dir /var/lib/followup --no-create-home \
        --shell /usr/sbin/nologin followup \
 && install --directory --owner followup --group followup --mode 0750 /var/lib/followup
# Owned by root: the worker cannot change its own code.
COPY --from=build /opt/followup /opt/followup
COPY config/followup.example.toml /etc/followup/followup.example.toml
# The metrics server listens on all interfaces inside the container, or the published port reaches
# nothing; compose.yaml publishes it on the host's loopback only. SQLite is the default for a single
# `docker run`; compose.yaml sets FOLLOWUP_DATABASE_URL to PostgreSQL.
ENV PATH=/opt/followup/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    FOLLOWUP_DATABASE_URL=sqlite+aiosqlite:////var/lib/followup/followup.db \
    FOLLOWUP_LOG_FORMAT=json \
    FOLLOWUP_METRICS_HOST=0.0.0.0 \
    FOLLOWUP_METRICS_PORT=9108
# Prometheus /metrics and /healthz
EXPOSE 9108
USER followup
WORKDIR /var/lib/followup
# Without a volume the SQLite database would die with the container.
VOLUME ["/var/lib/followup"]
# /healthz says 200 only while the inbox, sender and scheduler loops all run (503 while one
# reconnects); urlopen raises on 503 and on a refused connection, so python exits 1. The slim image has
# no curl. The port follows FOLLOWUP_METRICS_PORT when that is changed at `docker run`.
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; r = urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('FOLLOWUP_METRICS_PORT', '9108'), timeout=5); sys.exit(0 if r.status == 200 else 1)"]
ENTRYPOINT ["followup"]
CMD ["run"]
