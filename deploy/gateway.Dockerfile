# The gateway image: `baken serve`, `baken worker`, `baken migrate` and the other commands.
# Build from the repository root: docker build -f deploy/gateway.Dockerfile .
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
# Dependencies first (pinned by the lock), so a code change does not reinstall them.
COPY pyproject.toml README.md ./
COPY requirements/gateway.lock requirements/
COPY bot bot
# The reply texts and catalogs the NLG endpoint renders; sources.yml for `baken content`.
COPY dialogues dialogues
COPY locales locales
# Editable, so the project directory (domain, catalogs) stays /app, where bot/config.py finds it.
RUN pip install -c requirements/gateway.lock -e . \
    && useradd --system --uid 10001 --create-home baken \
    && mkdir -p /app/var && chown baken /app/var

USER baken
ENV BAKEN_HOST=0.0.0.0 BAKEN_PORT=8000
EXPOSE 8000
CMD ["baken", "serve", "--no-worker"]
