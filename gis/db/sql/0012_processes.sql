-- OGC API – Processes (issue 14): asynchronous jobs, kept in the database so that a job's status,
-- progress and results outlive the process that ran it. A job found `accepted` or `running` when a
-- server starts belonged to a process that died: it is marked `failed` with that reason (never left
-- "running" for ever).
CREATE TABLE IF NOT EXISTS ogc_jobs (
    job_id      text PRIMARY KEY,
    process_id  text NOT NULL,
    status      text NOT NULL DEFAULT 'accepted',
    message     text,
    progress    integer NOT NULL DEFAULT 0,
    inputs      jsonb NOT NULL,
    results     jsonb,
    owner       text,
    created     timestamptz NOT NULL DEFAULT now(),
    started     timestamptz,
    finished    timestamptz,
    updated     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT ogc_jobs_status CHECK (status IN ('accepted', 'running', 'successful', 'failed', 'dismissed')),
    CONSTRAINT ogc_jobs_progress CHECK (progress BETWEEN 0 AND 100)
);
CREATE INDEX IF NOT EXISTS ogc_jobs_created_idx ON ogc_jobs (created DESC);

-- Alarm webhooks (issue 14): subscriptions of other systems to the alarm events. Each subscription keeps
-- its own cursor (the last alarm_events id delivered or dead-lettered), so delivery resumes where it
-- stopped after a restart of either side, and events go out in id order (hence in order per vehicle).
CREATE TABLE IF NOT EXISTS webhook_subscriptions (
    id               bigserial PRIMARY KEY,
    url              text NOT NULL,
    secret           text NOT NULL,
    kinds            text[] NOT NULL DEFAULT '{}',     -- alarm kinds; empty: all
    vehicles         text[] NOT NULL DEFAULT '{}',     -- vehicle ids; empty: all
    active           boolean NOT NULL DEFAULT true,
    last_event_id    bigint NOT NULL DEFAULT 0,
    attempts         integer NOT NULL DEFAULT 0,       -- failed attempts at the event after the cursor
    failing_since    timestamptz,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    last_error       text,
    delivered        bigint NOT NULL DEFAULT 0,
    failures         bigint NOT NULL DEFAULT 0,
    dead             bigint NOT NULL DEFAULT 0,
    last_latency_ms  double precision,
    created          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT webhook_subscriptions_url CHECK (url ~ '^https?://')
);
CREATE TABLE IF NOT EXISTS webhook_dead_letters (
    subscription_id  bigint NOT NULL REFERENCES webhook_subscriptions(id) ON DELETE CASCADE,
    event_id         bigint NOT NULL,
    attempts         integer NOT NULL,
    last_error       text,
    at               timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (subscription_id, event_id)
);
