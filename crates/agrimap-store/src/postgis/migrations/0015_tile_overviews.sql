-- agrimap schema version 15: kept tile layers of the coalesced layers
-- (crates/agrimap-store/src/overviews.rs), forgotten by the layers' own
-- triggers for the tiles a written geometry reaches.
CREATE TABLE IF NOT EXISTS tile_overviews (
  layer text NOT NULL,
  options text NOT NULL,
  z integer NOT NULL,
  x bigint NOT NULL,
  y bigint NOT NULL,
  bounds geometry(Polygon, 4326) NOT NULL,
  mvt bytea NOT NULL,
  PRIMARY KEY (layer, options, z, x, y)
);
CREATE INDEX IF NOT EXISTS tile_overviews_bounds ON tile_overviews USING gist (bounds);

-- The layer's counter row is locked first: a render keeping a tile layer
-- checks the counter under a share lock, so either it waits for this write
-- to commit (and then sees the counter moved and keeps nothing), or this
-- write waits for it and then forgets what it kept (each statement of the
-- function sees what committed before it).
CREATE OR REPLACE FUNCTION agrimap_forget_overviews() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM 1 FROM agrimap_layer_version WHERE layer = TG_ARGV[0] FOR UPDATE;
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    DELETE FROM tile_overviews WHERE layer = TG_ARGV[0] AND bounds && OLD.geom;
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    DELETE FROM tile_overviews WHERE layer = TG_ARGV[0] AND bounds && NEW.geom;
  END IF;
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION agrimap_forget_all_overviews() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM 1 FROM agrimap_layer_version WHERE layer = TG_ARGV[0] FOR UPDATE;
  DELETE FROM tile_overviews WHERE layer = TG_ARGV[0];
  RETURN NULL;
END $$;

-- An update that changes neither the geometry nor a class field (a phone
-- number, a commune code) draws the same coalesced tile: it forgets nothing.
CREATE OR REPLACE TRIGGER crop_overviews_write AFTER INSERT OR DELETE ON crop
  FOR EACH ROW EXECUTE FUNCTION agrimap_forget_overviews('crop');
CREATE OR REPLACE TRIGGER crop_overviews_update AFTER UPDATE ON crop
  FOR EACH ROW WHEN (OLD.geom IS DISTINCT FROM NEW.geom OR OLD.crop_type IS DISTINCT FROM NEW.crop_type)
  EXECUTE FUNCTION agrimap_forget_overviews('crop');
CREATE OR REPLACE TRIGGER crop_overviews_truncate AFTER TRUNCATE ON crop
  FOR EACH STATEMENT EXECUTE FUNCTION agrimap_forget_all_overviews('crop');

CREATE OR REPLACE TRIGGER aquaculture_overviews_write AFTER INSERT OR DELETE ON aquaculture
  FOR EACH ROW EXECUTE FUNCTION agrimap_forget_overviews('aquaculture');
CREATE OR REPLACE TRIGGER aquaculture_overviews_update AFTER UPDATE ON aquaculture
  FOR EACH ROW WHEN (OLD.geom IS DISTINCT FROM NEW.geom OR OLD.species IS DISTINCT FROM NEW.species
    OR OLD.mode IS DISTINCT FROM NEW.mode)
  EXECUTE FUNCTION agrimap_forget_overviews('aquaculture');
CREATE OR REPLACE TRIGGER aquaculture_overviews_truncate AFTER TRUNCATE ON aquaculture
  FOR EACH STATEMENT EXECUTE FUNCTION agrimap_forget_all_overviews('aquaculture');
