-- Issue 17 (identity): local and single-sign-on accounts, server-side sessions, pending OIDC logins,
-- the application name of API keys and the daily per-application call counts (数据交换 监控).

CREATE TABLE users (
    id                  bigserial PRIMARY KEY,
    name                text NOT NULL UNIQUE,
    role                text NOT NULL,
    area                text,                           -- a 6/9/12-digit region code or a work-grid code
    source              text NOT NULL DEFAULT 'local',  -- 'local' (password) or 'oidc' (single sign-on)
    password_hash       text,                           -- argon2id (PHC string); NULL for oidc accounts
    failed_count        integer NOT NULL DEFAULT 0,     -- consecutive failed logins
    locked_until        timestamptz,                    -- lock-out after repeated failures
    created_at          timestamptz NOT NULL DEFAULT now(),
    password_changed_at timestamptz,
    last_login_at       timestamptz,
    disabled_at         timestamptz,
    CONSTRAINT users_role CHECK (role IN ('viewer', 'inspector', 'planner', 'admin')),
    CONSTRAINT users_source CHECK (source IN ('local', 'oidc')),
    CONSTRAINT users_local_has_password CHECK (source <> 'local' OR password_hash IS NOT NULL)
);

-- A session is known by the SHA-256 digest of its cookie (the cookie itself is never stored).
CREATE TABLE sessions (
    id            text PRIMARY KEY,
    user_id       bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf          text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_seen_at  timestamptz NOT NULL DEFAULT now(),
    ended_at      timestamptz,
    remote        text,
    user_agent    text
);
CREATE INDEX sessions_user ON sessions (user_id) WHERE ended_at IS NULL;

-- The authorization-code flow in flight: state → PKCE verifier and nonce, consumed by the callback.
CREATE TABLE oidc_pending (
    state       text PRIMARY KEY,
    verifier    text NOT NULL,
    nonce       text NOT NULL,
    return_to   text NOT NULL DEFAULT '/',
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- API keys name the application that uses them (NULL: the key's name).
ALTER TABLE api_keys ADD COLUMN app text;

-- Calls per application, route template and day; incremented in batches by the server.
CREATE TABLE app_calls (
    app    text NOT NULL,
    route  text NOT NULL,
    day    date NOT NULL,
    count  bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (day, app, route)
);
