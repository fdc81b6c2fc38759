# Rampart service image: `rampart run` with the HTTP API on port 8080.
#
# The API binds 0.0.0.0 *inside the container* (RAMPART_API__HOST below) so that Docker can
# publish it; outside, publish it on loopback only (`-p 127.0.0.1:8080:8080`, as
# deploy/docker-compose.prod.yml does) and put a TLS proxy in front if it must be reached
# from elsewhere. Everywhere else Rampart's default stays 127.0.0.1.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# pg_dump and pg_restore for `rampart backup` on PostgreSQL (and the backup a new version takes
# before it migrates the schema); they must be at least the server's major version (checked).
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-client \
    && rm -rf /var/lib/apt/lists/*

# Only what the package needs to build; tests, docs and local state stay out (.dockerignore).
WORKDIR /opt/rampart-src
COPY pyproject.toml README.md LICENSE THIRD_PARTY.md ./
COPY src ./src
RUN pip install . && rm -rf /opt/rampart-src

# A fixed non-root user; /app/var holds logs (var/rampart.log) and, with SQLite, the database.
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin rampart \
    && mkdir -p /app/var \
    && chown -R rampart:rampart /app
WORKDIR /app
USER rampart
VOLUME ["/app/var"]

ENV RAMPART_API__HOST=0.0.0.0 \
    RAMPART_API__PORT=8080 \
    RAMPART_LOG_FORMAT=json
EXPOSE 8080

# Liveness only (/health): readiness (/health/ready) says 503 while a dependency is down,
# and a container restart would not fix the database or the exchange.
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/health', timeout=2).status == 200 else 1)"]

# SIGTERM drains: the engine finishes the candle in hand, persists and exits 0 within
# ops.shutdown_timeout_s (20 s by default). Give `docker stop` a longer grace period.
STOPSIGNAL SIGTERM
ENTRYPOINT ["rampart"]
CMD ["run", "--no-view"]
