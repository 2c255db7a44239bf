-- agrimap schema version 19: the edges of each kept coalesced tile layer
-- (crates/agrimap-store/src/overviews.rs), and the features written over
-- the tile since, so that a tile a write reached is drawn again from its
-- edges and the few features the write changed, instead of from every
-- parcel it reaches. A write forgets the tile's encoded layer (0015, 0018)
-- but keeps its edges: once a statement ends, it adds the old version of
-- each feature it changed (removed) and the new one to the changes of every
-- tile whose edges they reach, in its own transaction. Drawing the tile
-- folds the changes into the edges. A statement that changed more than
-- 2,000 versions (a bulk import, a layer replaced) forgets the edges it
-- reaches instead: the tiles are then drawn from their features once,
-- which is cheaper than listing the changes and reading them back.
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

-- The row triggers of 0015 and 0018 still forget the encoded layers and
-- list them for redrawing; the changes are listed by statement, here.

-- Lists a statement's changed versions over the kept edges they reach, from
-- its transition tables (`gone`: old rows, `came`: new rows); TG_ARGV: the
-- layer, then its class fields. An update lists only the rows whose
-- geometry or class it changed.
CREATE OR REPLACE FUNCTION agrimap_list_edge_changes() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  layer_name text := TG_ARGV[0];
  class_fields text[] := TG_ARGV[1:TG_NARGS - 1];
  class_of_old text;
  class_of_new text;
  drawn_changed text;
  versions text;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM tile_overview_edges WHERE layer = layer_name) THEN
    RETURN NULL;
  END IF;
  SELECT 'jsonb_build_object(' || coalesce(string_agg(format('%L, o.%I', f, f), ', '), '') || ')',
         'jsonb_build_object(' || coalesce(string_agg(format('%L, n.%I', f, f), ', '), '') || ')',
         'o.geom IS DISTINCT FROM n.geom' || coalesce(string_agg(format(' OR o.%I IS DISTINCT FROM n.%I', f, f), ''), '')
    INTO class_of_old, class_of_new, drawn_changed
    FROM unnest(class_fields) AS f;
  versions := CASE TG_OP
    WHEN 'INSERT' THEN format('SELECT false AS removed, n.geom, %s AS class FROM came n', class_of_new)
    WHEN 'DELETE' THEN format('SELECT true AS removed, o.geom, %s AS class FROM gone o', class_of_old)
    ELSE format('SELECT true AS removed, o.geom, %s AS class FROM gone o JOIN came n USING (fid) WHERE %s
                 UNION ALL
                 SELECT false, n.geom, %s FROM gone o JOIN came n USING (fid) WHERE %s',
                class_of_old, drawn_changed, class_of_new, drawn_changed)
  END;
  EXECUTE format($sql$
    WITH v AS MATERIALIZED (%s),
    reached AS MATERIALIZED (
      SELECT e.layer, e.options, e.z, e.x, e.y, v.removed, v.geom, v.class
        FROM v JOIN tile_overview_edges e ON e.layer = %L AND e.bounds && v.geom),
    bulk AS (SELECT count(*) > 2000 AS yes FROM v),
    forgotten AS (
      DELETE FROM tile_overview_edges e USING reached r
       WHERE (SELECT yes FROM bulk)
         AND (e.layer, e.options, e.z, e.x, e.y) = (r.layer, r.options, r.z, r.x, r.y))
    INSERT INTO tile_overview_changes (layer, options, z, x, y, removed, geom, class)
      SELECT * FROM reached WHERE NOT (SELECT yes FROM bulk)
  $sql$, versions, layer_name);
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

CREATE OR REPLACE TRIGGER crop_edge_changes_insert AFTER INSERT ON crop
  REFERENCING NEW TABLE AS came FOR EACH STATEMENT EXECUTE FUNCTION agrimap_list_edge_changes('crop', 'crop_type');
CREATE OR REPLACE TRIGGER crop_edge_changes_update AFTER UPDATE ON crop
  REFERENCING OLD TABLE AS gone NEW TABLE AS came FOR EACH STATEMENT
  EXECUTE FUNCTION agrimap_list_edge_changes('crop', 'crop_type');
CREATE OR REPLACE TRIGGER crop_edge_changes_delete AFTER DELETE ON crop
  REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION agrimap_list_edge_changes('crop', 'crop_type');

CREATE OR REPLACE TRIGGER aquaculture_edge_changes_insert AFTER INSERT ON aquaculture
  REFERENCING NEW TABLE AS came FOR EACH STATEMENT
  EXECUTE FUNCTION agrimap_list_edge_changes('aquaculture', 'species', 'mode');
CREATE OR REPLACE TRIGGER aquaculture_edge_changes_update AFTER UPDATE ON aquaculture
  REFERENCING OLD TABLE AS gone NEW TABLE AS came FOR EACH STATEMENT
  EXECUTE FUNCTION agrimap_list_edge_changes('aquaculture', 'species', 'mode');
CREATE OR REPLACE TRIGGER aquaculture_edge_changes_delete AFTER DELETE ON aquaculture
  REFERENCING OLD TABLE AS gone FOR EACH STATEMENT
  EXECUTE FUNCTION agrimap_list_edge_changes('aquaculture', 'species', 'mode');
