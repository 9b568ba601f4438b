#!/bin/sh
# Entry point of the Rasa image: turns the gateway's keys into what Rasa's endpoints file reads,
# then runs the command.
#   BAKEN_SECRET_KEY -> BAKEN_INTERNAL_TOKEN (derived exactly as bot/config.py's internal_token;
#                       the secret key itself is then dropped from the environment)
#   BAKEN_DATA_KEYS  -> BAKEN_RASA_TRACKER_KEYS (the tracker store encrypts events with them)
set -eu
if [ -n "${BAKEN_SECRET_KEY:-}" ]; then
    BAKEN_INTERNAL_TOKEN="$(python -c 'import hashlib, hmac, os
key = os.environ["BAKEN_SECRET_KEY"].encode()
print(hmac.new(key, b"internal-token", hashlib.sha256).hexdigest()[:40])')"
    export BAKEN_INTERNAL_TOKEN
    unset BAKEN_SECRET_KEY
fi
if [ -n "${BAKEN_DATA_KEYS:-}" ]; then
    BAKEN_RASA_TRACKER_KEYS="$BAKEN_DATA_KEYS"
    export BAKEN_RASA_TRACKER_KEYS
    unset BAKEN_DATA_KEYS
fi
exec "$@"
