# The Rasa image (Python 3.10, rasa 3.6): the Rasa server, the action server and model training.
# Build from the repository root: docker build -f deploy/rasa.Dockerfile .
FROM python:3.10-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    RASA_TELEMETRY_ENABLED=false \
    TF_CPP_MIN_LOG_LEVEL=2 \
    SQLALCHEMY_SILENCE_UBER_WARNING=1 \
    PYTHONPATH=/app
# (PYTHONPATH: Rasa imports actions.tracker_store, the encrypting tracker store, from /app.)

WORKDIR /app
COPY requirements/rasa.txt requirements/rasa.lock requirements/
RUN pip install -r requirements/rasa.txt -c requirements/rasa.lock \
    && useradd --system --uid 10001 --create-home rasa \
    && mkdir -p /models && chown rasa /models

COPY config.yml credentials.yml rasa-logging.yml ./
COPY dialogues dialogues
COPY actions actions
COPY locales locales
COPY deploy/rasa-entrypoint.sh /usr/local/bin/rasa-entrypoint

USER rasa
ENTRYPOINT ["rasa-entrypoint"]
CMD ["rasa", "--help"]
