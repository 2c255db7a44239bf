-- Hashes of the stations' ingestion tokens (never the tokens themselves).
CREATE TABLE IF NOT EXISTS agrimap_station_tokens (
  station_id text PRIMARY KEY,
  token_hash text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
