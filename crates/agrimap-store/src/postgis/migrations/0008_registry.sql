-- The traceability registries (producers, products, growing areas): each
-- record the JSON of its model type under its natural key, every change
-- kept in the history, and the product pages' scans counted by day (no
-- personal data).
CREATE TABLE IF NOT EXISTS agrimap_registry (
  kind text NOT NULL CHECK (kind IN ('producers', 'products', 'growing-areas')),
  key text NOT NULL,
  province_code text NOT NULL,
  body jsonb NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (kind, key)
);
CREATE INDEX IF NOT EXISTS agrimap_registry_province ON agrimap_registry (kind, province_code);
CREATE TABLE IF NOT EXISTS agrimap_registry_history (
  seq bigserial PRIMARY KEY,
  kind text NOT NULL,
  key text NOT NULL,
  action text NOT NULL CHECK (action IN ('insert', 'update')),
  body jsonb NOT NULL,
  actor text NOT NULL,
  changed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS agrimap_registry_history_key ON agrimap_registry_history (kind, key);
CREATE TABLE IF NOT EXISTS agrimap_registry_scans (
  product text NOT NULL,
  day date NOT NULL,
  scans bigint NOT NULL,
  PRIMARY KEY (product, day)
);
