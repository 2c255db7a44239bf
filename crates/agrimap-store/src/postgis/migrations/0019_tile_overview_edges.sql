-- agrimap schema version 19: the edges of each kept coalesced tile layer
-- (crates/agrimap-store/src/overviews.rs), and the features written over
-- the tile since, so that a tile a write reached is drawn again from its
-- edges and the few features the write changed, instead of from every
-- parcel it reaches. A write forgets the tile's encoded layer (0015, 0018)
-- but keeps its edges: it adds the old version of each feature it changes
-- (removed) and the new one to the changes of every tile whose edges it
-- reaches, in its own transaction. Drawing the tile folds the changes into
-- the edges.
CREATE TABLE IF NOT EXISTS tile_overview_edges (
  layer text NOT NULL,
  options text NOT NULL,
  z integer NOT NULL,
  x bigint NOT NULL,
  y bigint NOT NULL,
  bounds geometry(Polygon, 4326) NOT NULL,
  -- Raised by every keeping or folding: a fold replaces only the edges it read.
  generation bigint NOT NULL DEFAULT 0,
  edges bytea NOT NULL,
  PRIMARY KEY (layer, options, z, x, y)
);
CREATE INDEX IF NOT EXISTS tile_overview_edges_bounds ON tile_overview_edges USING gist (bounds);

CREATE TABLE IF NOT EXISTS tile_overview_changes (
  id bigserial PRIMARY KEY,
  layer text NOT NULL,
  options text NOT NULL,
  z integer NOT NULL,
  x bigint NOT NULL,
  y bigint NOT NULL,
  -- The version a write replaced (taken away), or the one it wrote.
  removed boolean NOT NULL,
  geom geometry NOT NULL,
  -- The feature's class fields, by name.
  class jsonb NOT NULL,
  FOREIGN KEY (layer, options, z, x, y) REFERENCES tile_overview_edges ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS tile_overview_changes_tile ON tile_overview_changes (layer, options, z, x, y);

-- TG_ARGV: the layer, then its class fields.
CREATE OR REPLACE FUNCTION agrimap_forget_overviews() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  class_fields text[] := TG_ARGV[1:TG_NARGS - 1];
BEGIN
  PERFORM 1 FROM agrimap_layer_version WHERE layer = TG_ARGV[0] FOR UPDATE;
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    WITH gone AS (
      DELETE FROM tile_overviews WHERE layer = TG_ARGV[0] AND bounds && OLD.geom
      RETURNING layer, options, z, x, y)
    INSERT INTO tile_overviews_redraw SELECT * FROM gone ON CONFLICT DO NOTHING;
    INSERT INTO tile_overview_changes (layer, options, z, x, y, removed, geom, class)
      SELECT layer, options, z, x, y, true, OLD.geom,
             (SELECT coalesce(jsonb_object_agg(f, to_jsonb(OLD) -> f), '{}') FROM unnest(class_fields) AS f)
        FROM tile_overview_edges WHERE layer = TG_ARGV[0] AND bounds && OLD.geom;
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    WITH gone AS (
      DELETE FROM tile_overviews WHERE layer = TG_ARGV[0] AND bounds && NEW.geom
      RETURNING layer, options, z, x, y)
    INSERT INTO tile_overviews_redraw SELECT * FROM gone ON CONFLICT DO NOTHING;
    INSERT INTO tile_overview_changes (layer, options, z, x, y, removed, geom, class)
      SELECT layer, options, z, x, y, false, NEW.geom,
             (SELECT coalesce(jsonb_object_agg(f, to_jsonb(NEW) -> f), '{}') FROM unnest(class_fields) AS f)
        FROM tile_overview_edges WHERE layer = TG_ARGV[0] AND bounds && NEW.geom;
  END IF;
  RETURN NULL;
END $$;

-- A truncated layer's edges go with its kept layers (and their changes with them).
CREATE OR REPLACE FUNCTION agrimap_forget_all_overviews() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM 1 FROM agrimap_layer_version WHERE layer = TG_ARGV[0] FOR UPDATE;
  WITH gone AS (
    DELETE FROM tile_overviews WHERE layer = TG_ARGV[0]
    RETURNING layer, options, z, x, y)
  INSERT INTO tile_overviews_redraw SELECT * FROM gone ON CONFLICT DO NOTHING;
  DELETE FROM tile_overview_edges WHERE layer = TG_ARGV[0];
  RETURN NULL;
END $$;

CREATE OR REPLACE TRIGGER crop_overviews_write AFTER INSERT OR DELETE ON crop
  FOR EACH ROW EXECUTE FUNCTION agrimap_forget_overviews('crop', 'crop_type');
CREATE OR REPLACE TRIGGER crop_overviews_update AFTER UPDATE ON crop
  FOR EACH ROW WHEN (OLD.geom IS DISTINCT FROM NEW.geom OR OLD.crop_type IS DISTINCT FROM NEW.crop_type)
  EXECUTE FUNCTION agrimap_forget_overviews('crop', 'crop_type');

CREATE OR REPLACE TRIGGER aquaculture_overviews_write AFTER INSERT OR DELETE ON aquaculture
  FOR EACH ROW EXECUTE FUNCTION agrimap_forget_overviews('aquaculture', 'species', 'mode');
CREATE OR REPLACE TRIGGER aquaculture_overviews_update AFTER UPDATE ON aquaculture
  FOR EACH ROW WHEN (OLD.geom IS DISTINCT FROM NEW.geom OR OLD.species IS DISTINCT FROM NEW.species
    OR OLD.mode IS DISTINCT FROM NEW.mode)
  EXECUTE FUNCTION agrimap_forget_overviews('aquaculture', 'species', 'mode');
