-- agrimap schema version 24: when a feature of a thematic layer changes
-- in place, its splits' classes are rewritten only if one of its coded
-- fields changed, and are built from those fields' columns. Before, every
-- split of every updated feature was rebuilt from `to_jsonb` of its row,
-- which turns the geometry into JSON: a third of the time of a recode,
-- which changes no coded field.
--
-- The coded fields of each layer are the trigger's arguments: the fields
-- whose totals are kept (`agrimap_store::splits::totals_fields`; a unit
-- test holds this file to it).
CREATE OR REPLACE FUNCTION agrimap_splits_updated() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  t text := TG_TABLE_NAME;
  coded text[] := TG_ARGV;
BEGIN
  WITH moved AS (
    SELECT n.fid FROM agrimap_new_rows n JOIN agrimap_old_rows o ON o.fid = n.fid
    WHERE o.geom::bytea IS DISTINCT FROM n.geom::bytea
  ), dropped AS (
    DELETE FROM agrimap_feature_splits s USING moved m
    WHERE s.layer = t AND s.fid = m.fid
  )
  INSERT INTO agrimap_split_pending (layer, fid)
    SELECT t, fid FROM moved
    ON CONFLICT DO NOTHING;
  IF cardinality(coded) > 0 THEN
    -- Transition tables are seen by dynamic SQL in PL/pgSQL.
    EXECUTE format(
      'UPDATE agrimap_feature_splits s SET classes = jsonb_build_object(%s)
         FROM agrimap_new_rows n JOIN agrimap_old_rows o ON o.fid = n.fid
        WHERE s.layer = $1 AND s.fid = n.fid AND (%s) IS DISTINCT FROM (%s)',
      (SELECT string_agg(format('%L, n.%I', f, f), ', ') FROM unnest(coded) f),
      (SELECT string_agg(format('n.%I', f), ', ') FROM unnest(coded) f),
      (SELECT string_agg(format('o.%I', f), ', ') FROM unnest(coded) f))
    USING t;
  END IF;
  RETURN NULL;
END $$;

DROP TRIGGER agrimap_splits_updated ON crop;
CREATE TRIGGER agrimap_splits_updated AFTER UPDATE ON crop
  REFERENCING OLD TABLE AS agrimap_old_rows NEW TABLE AS agrimap_new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION agrimap_splits_updated('crop_type', 'season', 'practice');

DROP TRIGGER agrimap_splits_updated ON aquaculture;
CREATE TRIGGER agrimap_splits_updated AFTER UPDATE ON aquaculture
  REFERENCING OLD TABLE AS agrimap_old_rows NEW TABLE AS agrimap_new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION agrimap_splits_updated('species', 'mode', 'certification');

DROP TRIGGER agrimap_splits_updated ON monitoring;
CREATE TRIGGER agrimap_splits_updated AFTER UPDATE ON monitoring
  REFERENCING OLD TABLE AS agrimap_old_rows NEW TABLE AS agrimap_new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION agrimap_splits_updated('kind', 'status', 'alert_state');

DROP TRIGGER agrimap_splits_updated ON growing_area;
CREATE TRIGGER agrimap_splits_updated AFTER UPDATE ON growing_area
  REFERENCING OLD TABLE AS agrimap_old_rows NEW TABLE AS agrimap_new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION agrimap_splits_updated('crop_type', 'status');

DROP TRIGGER agrimap_splits_updated ON ocop;
CREATE TRIGGER agrimap_splits_updated AFTER UPDATE ON ocop
  REFERENCING OLD TABLE AS agrimap_old_rows NEW TABLE AS agrimap_new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION agrimap_splits_updated('category');

DROP TRIGGER agrimap_splits_updated ON irrigation_works;
CREATE TRIGGER agrimap_splits_updated AFTER UPDATE ON irrigation_works
  REFERENCING OLD TABLE AS agrimap_old_rows NEW TABLE AS agrimap_new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION agrimap_splits_updated('kind', 'condition');

DROP TRIGGER agrimap_splits_updated ON irrigated_areas;
CREATE TRIGGER agrimap_splits_updated AFTER UPDATE ON irrigated_areas
  REFERENCING OLD TABLE AS agrimap_old_rows NEW TABLE AS agrimap_new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION agrimap_splits_updated('irrigation', 'drainage', 'source');

DROP TRIGGER agrimap_splits_updated ON forest_plots;
CREATE TRIGGER agrimap_splits_updated AFTER UPDATE ON forest_plots
  REFERENCING OLD TABLE AS agrimap_old_rows NEW TABLE AS agrimap_new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION agrimap_splits_updated('forest_type', 'species');

DROP TRIGGER agrimap_splits_updated ON livestock_farms;
CREATE TRIGGER agrimap_splits_updated AFTER UPDATE ON livestock_farms
  REFERENCING OLD TABLE AS agrimap_old_rows NEW TABLE AS agrimap_new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION agrimap_splits_updated('species', 'scale', 'biosecurity');

-- Nothing calls it any more: classes are built from the coded columns.
DROP FUNCTION IF EXISTS agrimap_split_classes(jsonb, jsonb);
