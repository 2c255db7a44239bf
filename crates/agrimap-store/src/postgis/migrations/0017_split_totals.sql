-- Totals kept at write time (issue 19): the sums of the splits by layer,
-- boundary set, province, commune and the value of each coded field (the
-- fields with a value list: crop_type, season, species, ...), so that a
-- province-wide table reads a few thousand rows however many features the
-- layer holds.
--
-- Each split row carries the values of its feature's coded fields
-- (`classes`, a JSON object the store writes with the split). A statement
-- trigger on the splits appends what a statement added or removed to
-- agrimap_split_deltas, grouped: appends only, so concurrent writers never
-- wait for one another there and cannot deadlock. A reader sums
-- agrimap_split_totals and the deltas; the store folds the deltas into the
-- totals from time to time, one folder at a time (an advisory lock).
-- class_field '' holds the commune's total over every class.

ALTER TABLE agrimap_feature_splits ADD COLUMN IF NOT EXISTS classes jsonb NOT NULL DEFAULT '{}';

CREATE TABLE IF NOT EXISTS agrimap_split_totals (
  layer text NOT NULL,
  boundary_set text NOT NULL,
  class_field text NOT NULL,
  province_code text NOT NULL,
  commune_code text NOT NULL,
  class_value text,
  area_ha double precision NOT NULL,
  features bigint NOT NULL,
  parts bigint NOT NULL,
  CONSTRAINT agrimap_split_totals_key
    UNIQUE NULLS NOT DISTINCT (layer, boundary_set, class_field, province_code, commune_code, class_value)
);

CREATE TABLE IF NOT EXISTS agrimap_split_deltas (
  layer text NOT NULL,
  boundary_set text NOT NULL,
  class_field text NOT NULL,
  province_code text NOT NULL,
  commune_code text NOT NULL,
  class_value text,
  area_ha double precision NOT NULL,
  features bigint NOT NULL,
  parts bigint NOT NULL
);

-- The keys a split counts under: the commune's total, and one per coded field.
CREATE OR REPLACE FUNCTION agrimap_split_keys(classes jsonb) RETURNS TABLE (field text, value text)
LANGUAGE sql IMMUTABLE AS $$
  SELECT '', NULL::text UNION ALL SELECT key, value FROM jsonb_each_text(classes)
$$;

-- The coded fields a split carries, with their values in a feature's row.
CREATE OR REPLACE FUNCTION agrimap_split_classes(classes jsonb, feature jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
  SELECT coalesce(jsonb_object_agg(k, coalesce(feature -> k, 'null'::jsonb)), '{}'::jsonb)
  FROM jsonb_object_keys(classes) k
$$;

CREATE OR REPLACE FUNCTION agrimap_split_totals_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('DELETE', 'UPDATE') THEN
    INSERT INTO agrimap_split_deltas
      SELECT s.layer, s.boundary_set, k.field, s.province_code, s.commune_code, k.value,
             -sum(s.area_ha), -sum(s.largest::int), -count(*)
      FROM agrimap_old_splits s, agrimap_split_keys(s.classes) k
      GROUP BY 1, 2, 3, 4, 5, 6;
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    INSERT INTO agrimap_split_deltas
      SELECT s.layer, s.boundary_set, k.field, s.province_code, s.commune_code, k.value,
             sum(s.area_ha), sum(s.largest::int), count(*)
      FROM agrimap_new_splits s, agrimap_split_keys(s.classes) k
      GROUP BY 1, 2, 3, 4, 5, 6;
  END IF;
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION agrimap_split_totals_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  TRUNCATE agrimap_split_totals, agrimap_split_deltas;
  RETURN NULL;
END $$;

CREATE TRIGGER agrimap_split_totals_inserted AFTER INSERT ON agrimap_feature_splits
  REFERENCING NEW TABLE AS agrimap_new_splits
  FOR EACH STATEMENT EXECUTE FUNCTION agrimap_split_totals_changed();
CREATE TRIGGER agrimap_split_totals_updated AFTER UPDATE ON agrimap_feature_splits
  REFERENCING OLD TABLE AS agrimap_old_splits NEW TABLE AS agrimap_new_splits
  FOR EACH STATEMENT EXECUTE FUNCTION agrimap_split_totals_changed();
CREATE TRIGGER agrimap_split_totals_deleted AFTER DELETE ON agrimap_feature_splits
  REFERENCING OLD TABLE AS agrimap_old_splits
  FOR EACH STATEMENT EXECUTE FUNCTION agrimap_split_totals_changed();
CREATE TRIGGER agrimap_split_totals_truncated AFTER TRUNCATE ON agrimap_feature_splits
  FOR EACH STATEMENT EXECUTE FUNCTION agrimap_split_totals_truncated();

-- The functions of 0016 again, with the table's name in a text variable:
-- `TG_TABLE_NAME::text` keeps the collation of `name` ("C"), which is not
-- the splits' key's, so PostgreSQL could not use the key's leading column
-- and scanned every split of every layer for each statement (a tenth of a
-- second per single-parcel write at two million parcels).
-- And: a feature whose coded fields change in place (a recode of its crop,
-- by agrimap or by an editor in QGIS) keeps its splits under its new
-- values, which moves its totals.
CREATE OR REPLACE FUNCTION agrimap_splits_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  t text := TG_TABLE_NAME;
BEGIN
  INSERT INTO agrimap_split_pending (layer, fid)
    SELECT t, fid FROM agrimap_new_rows
    ON CONFLICT DO NOTHING;
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION agrimap_splits_updated() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  t text := TG_TABLE_NAME;
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
  UPDATE agrimap_feature_splits s
     SET classes = agrimap_split_classes(s.classes, to_jsonb(n))
    FROM agrimap_new_rows n
   WHERE s.layer = t AND s.fid = n.fid
     AND s.classes <> '{}'::jsonb
     AND s.classes IS DISTINCT FROM agrimap_split_classes(s.classes, to_jsonb(n));
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION agrimap_splits_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  t text := TG_TABLE_NAME;
BEGIN
  DELETE FROM agrimap_feature_splits s USING agrimap_old_rows o
    WHERE s.layer = t AND s.fid = o.fid;
  DELETE FROM agrimap_split_pending p USING agrimap_old_rows o
    WHERE p.layer = t AND p.fid = o.fid;
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION agrimap_splits_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  t text := TG_TABLE_NAME;
BEGIN
  DELETE FROM agrimap_feature_splits WHERE layer = t;
  DELETE FROM agrimap_split_pending WHERE layer = t;
  RETURN NULL;
END $$;

-- Splits stored before carry no classes: every split is made again, at the
-- end of this migration (the store settles what is pending).
INSERT INTO agrimap_split_pending (layer, fid) VALUES ('admin_commune', 0) ON CONFLICT DO NOTHING;
