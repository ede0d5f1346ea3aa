-- skydeck team store, version 1: the append-only event log.
-- One row per journalled local entry (audit entry, runbook tick, incident timeline entry),
-- keyed by the store it came from and that store's local sequence: replaying a batch adds nothing.
CREATE TABLE events (
    id bigserial PRIMARY KEY,
    origin text NOT NULL,
    seq bigint NOT NULL,
    host text NOT NULL,
    kind text NOT NULL,
    at timestamptz NOT NULL,
    who text NOT NULL,
    payload jsonb NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (origin, seq)
);
CREATE INDEX events_at ON events (at);

CREATE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'skydeck events are append-only';
END
$$;
CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_append_only();
