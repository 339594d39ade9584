# followup worker image: slim Python, non-root, runs `followup run`.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY service ./service
COPY templates ./templates
RUN python -m venv /opt/followup \
 && /opt/followup/bin/pip install --no-cache-dir --upgrade pip \
 && /opt/followup/bin/pip install --no-cache-dir .

FROM python:3.11-slim
RUN useradd --system --uid 10001 --create-home --home-dir /var/lib/followup followup
COPY --from=build /opt/followup /opt/followup
COPY config/followup.example.toml /etc/followup/followup.example.toml
ENV PATH=/opt/followup/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    FOLLOWUP_DATABASE_URL=sqlite+aiosqlite:////var/lib/followup/followup.db \
    FOLLOWUP_LOG_FORMAT=json \
    FOLLOWUP_METRICS_HOST=0.0.0.0 \
    FOLLOWUP_METRICS_PORT=9108
# Prometheus /metrics and /healthz (ready only while the inbox, sender and scheduler loops run)
EXPOSE 9108
USER followup
WORKDIR /var/lib/followup
VOLUME ["/var/lib/followup"]
# `followup check` connects to the database, the inbox and the outbox and fails if one is down
HEALTHCHECK --interval=60s --timeout=45s --start-period=30s --retries=3 CMD ["followup", "check"]
ENTRYPOINT ["followup"]
CMD ["run"]
