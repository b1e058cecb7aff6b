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
