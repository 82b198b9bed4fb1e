-- Hearth monitor: the PostgreSQL tables that PostgresSync forwards the local SQLite store into.
--
-- Supabase-compatible: plain tables in the public schema, snake_case names, timestamptz times, jsonb for JSON, text
-- primary keys, created_at defaulting to now() (when the row reached PostgreSQL; the monitor's own times are in the
-- other columns). Row level security is enabled with no policies, so Supabase's anon and authenticated API roles see
-- nothing until you add a policy; the owner role that the monitor connects as is not affected.
--
-- Every key is the monitor's idempotency key (see SqliteMonitorStore): the sync inserts with ON CONFLICT (key) DO
-- NOTHING, so re-sending a batch after a crash or an outage adds nothing. There are no foreign keys between the
-- tables, because the local store's retention limits are per table and a row may arrive before or after its relatives.
-- Text values have NUL characters and lone surrogates replaced by U+FFFD (PostgreSQL text cannot hold NUL).
--
-- The monitor runs this script (idempotent) when it first connects; you can also run it yourself, for example in
-- Supabase's SQL editor, and let the monitor connect as a role that may only insert.

create table if not exists public.hearth_readings (
    key text primary key,                 -- lowercase hex SHA-256 of the source, a newline and the payload bytes
    source text not null,                 -- MQTT topic, file name, stdin, http
    received_at timestamptz not null,     -- when the monitor received it
    reading_ts timestamptz,               -- the reading's own timestamp; null when it was quarantined
    payload text not null,                -- the payload as received (an oversized one truncated to its excerpt)
    created_at timestamptz not null default now()
);

create table if not exists public.hearth_decisions (
    key text primary key,                 -- the reading's key (rule decision), the tick's key, or {reading key}/{check} (model)
    reading_key text,                     -- null for a decision made at a clock tick
    kind text not null check (kind in ('rule', 'model')),
    rule text,                            -- rule decisions: the deciding rule (null for the default label)
    check_name text,                      -- model decisions: the policy's check
    model text,                           -- model decisions: the model that ran it
    label text not null,
    active_rules jsonb,                   -- rule decisions: every rule active after the reading, in policy order
    inputs jsonb not null,                -- rule: {signal: value} (non-finite values as "NaN", "Infinity"); model: {"text": prompt}
    latency_us double precision not null,
    model_output text,                    -- model decisions: what the model produced (empty on timeout)
    timed_out boolean,                    -- model decisions: true when the fail-safe label was used
    decided_at timestamptz not null,      -- the reading's or tick's time; when the check finished
    created_at timestamptz not null default now()
);

create table if not exists public.hearth_alerts (
    key text primary key,                 -- the key of the decision that raised it
    from_label text not null,
    to_label text not null,
    rule text,
    severity text not null check (severity in ('info', 'warning', 'critical')),
    since timestamptz not null,           -- when the new label was first decided
    raised_at timestamptz not null,       -- when the alert was raised (after the debounce)
    sinks jsonb not null,                 -- array of sink names
    created_at timestamptz not null default now()
);

create table if not exists public.hearth_quarantine (
    key text primary key,                 -- the payload's key (its row is in hearth_readings)
    position bigint not null,             -- 1-based position in its stream
    reason text not null,                 -- malformed_json, not_an_object, too_large, missing_timestamp, ...
    detail text not null,
    excerpt text not null,                -- the payload's first 200 characters
    created_at timestamptz not null default now()
);

create index if not exists hearth_readings_received_at on public.hearth_readings (received_at);
create index if not exists hearth_decisions_decided_at on public.hearth_decisions (decided_at);
create index if not exists hearth_decisions_reading_key on public.hearth_decisions (reading_key);
create index if not exists hearth_alerts_raised_at on public.hearth_alerts (raised_at);

alter table public.hearth_readings enable row level security;
alter table public.hearth_decisions enable row level security;
alter table public.hearth_alerts enable row level security;
alter table public.hearth_quarantine enable row level security;
