-- New rural development (NTM): criteria sets as loaded, the values editors
-- enter for communes' indicators, their evidence files, and the moves of
-- each commune's yearly dossier. Entries and moves are an append-only
-- history: a trigger refuses any UPDATE or DELETE of their rows.
CREATE TABLE IF NOT EXISTS agrimap_ntm_sets (
  id text NOT NULL,
  version integer NOT NULL,
  document text NOT NULL,
  loaded_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (id, version)
);
-- One sequence for entries and moves, so that a dossier's history has one order.
CREATE SEQUENCE IF NOT EXISTS agrimap_ntm_seq;
CREATE TABLE IF NOT EXISTS agrimap_ntm_entries (
  seq bigint PRIMARY KEY DEFAULT nextval('agrimap_ntm_seq'),
  commune_code text NOT NULL,
  boundary_set text NOT NULL,
  year integer NOT NULL,
  set_id text NOT NULL,
  indicator_id text NOT NULL,
  value_number double precision,
  value_pass boolean,
  comment text NOT NULL DEFAULT '',
  evidence text NOT NULL DEFAULT '',
  author text NOT NULL,
  at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS agrimap_ntm_entries_dossier ON agrimap_ntm_entries (commune_code, boundary_set, year);
CREATE TABLE IF NOT EXISTS agrimap_ntm_evidence (
  sha256 text PRIMARY KEY,
  name text NOT NULL,
  media_type text NOT NULL,
  size bigint NOT NULL,
  bytes bytea NOT NULL,
  author text NOT NULL,
  at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS agrimap_ntm_moves (
  seq bigint PRIMARY KEY DEFAULT nextval('agrimap_ntm_seq'),
  commune_code text NOT NULL,
  boundary_set text NOT NULL,
  year integer NOT NULL,
  from_state text NOT NULL CHECK (from_state IN ('draft', 'submitted', 'appraised', 'recognised', 'returned', 'revoked')),
  to_state text NOT NULL CHECK (to_state IN ('draft', 'submitted', 'appraised', 'recognised', 'returned', 'revoked')),
  author text NOT NULL,
  role text NOT NULL,
  details text NOT NULL,
  at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS agrimap_ntm_moves_dossier ON agrimap_ntm_moves (commune_code, boundary_set, year);
CREATE OR REPLACE FUNCTION agrimap_ntm_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the NTM history is append-only';
END $$;
CREATE OR REPLACE TRIGGER agrimap_ntm_entries_kept BEFORE UPDATE OR DELETE ON agrimap_ntm_entries
  FOR EACH ROW EXECUTE FUNCTION agrimap_ntm_append_only();
CREATE OR REPLACE TRIGGER agrimap_ntm_entries_not_truncated BEFORE TRUNCATE ON agrimap_ntm_entries
  FOR EACH STATEMENT EXECUTE FUNCTION agrimap_ntm_append_only();
CREATE OR REPLACE TRIGGER agrimap_ntm_moves_kept BEFORE UPDATE OR DELETE ON agrimap_ntm_moves
  FOR EACH ROW EXECUTE FUNCTION agrimap_ntm_append_only();
CREATE OR REPLACE TRIGGER agrimap_ntm_moves_not_truncated BEFORE TRUNCATE ON agrimap_ntm_moves
  FOR EACH STATEMENT EXECUTE FUNCTION agrimap_ntm_append_only();
