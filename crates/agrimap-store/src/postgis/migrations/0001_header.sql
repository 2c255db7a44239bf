-- agrimap schema version 1: the layer catalog, readings and change counters.
-- Generated from the catalog (crates/agrimap-model) and pinned by a test.
CREATE EXTENSION IF NOT EXISTS postgis;

CREATE TABLE IF NOT EXISTS agrimap_layer_version (
  layer text PRIMARY KEY,
  version bigint NOT NULL DEFAULT 0
);

-- One bump per statement (a load of a million rows is one bump), and a
-- notification so that other agrimap instances drop their cached tiles.
CREATE OR REPLACE FUNCTION agrimap_bump_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE agrimap_layer_version SET version = version + 1 WHERE layer = TG_ARGV[0];
  PERFORM pg_notify('agrimap_layer_changed', TG_ARGV[0]);
  RETURN NULL;
END $$;

CREATE TABLE IF NOT EXISTS readings (
  id bigserial PRIMARY KEY,
  station_id text NOT NULL,
  parameter text NOT NULL,
  value double precision NOT NULL,
  unit text NOT NULL,
  time timestamptz NOT NULL,
  UNIQUE (station_id, parameter, time)
);
