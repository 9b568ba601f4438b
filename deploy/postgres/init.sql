-- Runs once, when the PostgreSQL volume is first created: Rasa's tracker store gets its own
-- database next to the gateway's (POSTGRES_DB, baken), owned by the same user.
CREATE DATABASE rasa OWNER baken;
