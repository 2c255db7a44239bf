-- API tokens of planners, editors and admins: hashes only, never the secrets.
CREATE TABLE IF NOT EXISTS agrimap_api_tokens (
  id text PRIMARY KEY,
  name text NOT NULL,
  role text NOT NULL CHECK (role IN ('planner', 'editor', 'admin')),
  token_hash text NOT NULL UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz
);
