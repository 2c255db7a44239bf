-- agrimap schema version 18: the kept tile layers a write forgot, listed
-- for the server to draw again in the background (crates/agrimap-store/src/
-- overviews.rs), so that the first request after an edit finds the tile's
-- coalesced layer kept again instead of reading every parcel it reaches.
-- The layers' triggers (0015) record what they forget; keeping a layer
-- takes it off the list.
CREATE TABLE IF NOT EXISTS tile_overviews_redraw (
  layer text NOT NULL,
  options text NOT NULL,
  z integer NOT NULL,
  x bigint NOT NULL,
  y bigint NOT NULL,
  PRIMARY KEY (layer, options, z, x, y)
);

CREATE OR REPLACE FUNCTION agrimap_forget_overviews() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM 1 FROM agrimap_layer_version WHERE layer = TG_ARGV[0] FOR UPDATE;
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    WITH gone AS (
      DELETE FROM tile_overviews WHERE layer = TG_ARGV[0] AND bounds && OLD.geom
      RETURNING layer, options, z, x, y)
    INSERT INTO tile_overviews_redraw SELECT * FROM gone ON CONFLICT DO NOTHING;
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    WITH gone AS (
      DELETE FROM tile_overviews WHERE layer = TG_ARGV[0] AND bounds && NEW.geom
      RETURNING layer, options, z, x, y)
    INSERT INTO tile_overviews_redraw SELECT * FROM gone ON CONFLICT DO NOTHING;
  END IF;
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION agrimap_forget_all_overviews() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM 1 FROM agrimap_layer_version WHERE layer = TG_ARGV[0] FOR UPDATE;
  WITH gone AS (
    DELETE FROM tile_overviews WHERE layer = TG_ARGV[0]
    RETURNING layer, options, z, x, y)
  INSERT INTO tile_overviews_redraw SELECT * FROM gone ON CONFLICT DO NOTHING;
  RETURN NULL;
END $$;
