-- Alerts as events: silent stations, the alert history, subscriptions and
-- their webhook deliveries.

-- A station's own expected reporting interval (minutes); NULL for its kind's default.
ALTER TABLE monitoring ADD COLUMN IF NOT EXISTS report_interval_min bigint;
-- A fourth state: the station has not reported within its interval.
ALTER TABLE monitoring DROP CONSTRAINT IF EXISTS monitoring_alert_state_check;
ALTER TABLE monitoring ADD CONSTRAINT monitoring_alert_state_check
  CHECK (alert_state IN ('ok', 'watch', 'alarm', 'silent'));

CREATE TABLE IF NOT EXISTS agrimap_alert_events (
  id bigserial PRIMARY KEY,
  station_id text NOT NULL,
  station_kind text NOT NULL,
  commune_code text NOT NULL,
  from_state text NOT NULL CHECK (from_state IN ('ok', 'watch', 'alarm', 'silent')),
  to_state text NOT NULL CHECK (to_state IN ('ok', 'watch', 'alarm', 'silent')),
  cause jsonb,
  at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS agrimap_alert_events_station ON agrimap_alert_events (station_id, id);
CREATE INDEX IF NOT EXISTS agrimap_alert_events_at ON agrimap_alert_events (at);

CREATE TABLE IF NOT EXISTS agrimap_alert_subscriptions (
  id bigserial PRIMARY KEY,
  name text NOT NULL,
  scope jsonb NOT NULL,
  url text NOT NULL,
  -- Signs the deliveries (HMAC-SHA256); never listed.
  secret text NOT NULL,
  owner_provinces text NOT NULL,
  created_by text NOT NULL,
  created_at timestamptz NOT NULL,
  ended_at timestamptz
);

CREATE TABLE IF NOT EXISTS agrimap_alert_deliveries (
  id bigserial PRIMARY KEY,
  event_id bigint NOT NULL REFERENCES agrimap_alert_events (id),
  subscription_id bigint NOT NULL REFERENCES agrimap_alert_subscriptions (id),
  status text NOT NULL CHECK (status IN ('pending', 'delivered', 'dead')),
  attempts integer NOT NULL DEFAULT 0,
  last_error text,
  created_at timestamptz NOT NULL,
  retry_from timestamptz NOT NULL,
  next_attempt_at timestamptz NOT NULL,
  lease_until timestamptz,
  delivered_at timestamptz,
  UNIQUE (event_id, subscription_id)
);
CREATE INDEX IF NOT EXISTS agrimap_alert_deliveries_due ON agrimap_alert_deliveries (next_attempt_at)
  WHERE status = 'pending';

-- The last event the dispatcher has turned into deliveries.
CREATE TABLE IF NOT EXISTS agrimap_alert_dispatch (
  id integer PRIMARY KEY CHECK (id = 1),
  last_event_id bigint NOT NULL
);
INSERT INTO agrimap_alert_dispatch (id, last_event_id) VALUES (1, 0) ON CONFLICT DO NOTHING;
