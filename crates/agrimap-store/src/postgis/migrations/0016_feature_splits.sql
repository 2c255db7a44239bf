-- Statistics kept at write time (issue 19): each feature of a thematic
-- layer is stored with its split across the communes of every boundary set
-- (hectares on the ellipsoid scaled to the feature's own area, its share of
-- the feature, and whether its count goes there), computed by the store in
-- Rust before the write commits. The triggers below only keep track of what
-- must be split: a feature inserted or whose geometry changed is noted in
-- agrimap_split_pending (its old splits dropped), a feature deleted loses
-- its splits, and any change of admin_commune marks every split stale.
-- Statement-level triggers with transition tables: a COPY of a million
-- parcels notes them with one INSERT, not a million.

CREATE TABLE IF NOT EXISTS agrimap_feature_splits (
  layer text NOT NULL,
  fid bigint NOT NULL,
  boundary_set text NOT NULL,
  commune_code text NOT NULL,
  province_code text NOT NULL,
  area_ha double precision NOT NULL,
  share double precision NOT NULL,
  largest boolean NOT NULL,
  PRIMARY KEY (layer, fid, boundary_set, commune_code)
);
-- No index by commune: a table reads every split of a layer (a sequential
-- scan joined to the layer by hash), and each index entry would cost every
-- write of a million parcels.

CREATE TABLE IF NOT EXISTS agrimap_split_pending (
  layer text NOT NULL,
  fid bigint NOT NULL,
  PRIMARY KEY (layer, fid)
);

CREATE OR REPLACE FUNCTION agrimap_splits_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO agrimap_split_pending (layer, fid)
    SELECT TG_TABLE_NAME::text, fid FROM agrimap_new_rows
    ON CONFLICT DO NOTHING;
  RETURN NULL;
END $$;

-- Only a changed geometry changes the splits: a recode or a station's
-- latest values leave them as they are.
CREATE OR REPLACE FUNCTION agrimap_splits_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  WITH moved AS (
    SELECT n.fid FROM agrimap_new_rows n JOIN agrimap_old_rows o ON o.fid = n.fid
    WHERE o.geom::bytea IS DISTINCT FROM n.geom::bytea
  ), dropped AS (
    DELETE FROM agrimap_feature_splits s USING moved m
    WHERE s.layer = TG_TABLE_NAME::text AND s.fid = m.fid
  )
  INSERT INTO agrimap_split_pending (layer, fid)
    SELECT TG_TABLE_NAME::text, fid FROM moved
    ON CONFLICT DO NOTHING;
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION agrimap_splits_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM agrimap_feature_splits s USING agrimap_old_rows o
    WHERE s.layer = TG_TABLE_NAME::text AND s.fid = o.fid;
  DELETE FROM agrimap_split_pending p USING agrimap_old_rows o
    WHERE p.layer = TG_TABLE_NAME::text AND p.fid = o.fid;
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION agrimap_splits_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM agrimap_feature_splits WHERE layer = TG_TABLE_NAME::text;
  DELETE FROM agrimap_split_pending WHERE layer = TG_TABLE_NAME::text;
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION agrimap_splits_boundaries() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO agrimap_split_pending (layer, fid) VALUES ('admin_commune', 0) ON CONFLICT DO NOTHING;
  RETURN NULL;
END $$;

CREATE TRIGGER agrimap_splits_inserted AFTER INSERT ON crop
  REFERENCING NEW TABLE AS agrimap_new_rows FOR EACH STATEMENT EXECUTE FUNCTION agrimap_splits_inserted();
CREATE TRIGGER agrimap_splits_updated AFTER UPDATE ON crop
  REFERENCING OLD TABLE AS agrimap_old_rows NEW TABLE AS agrimap_new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION agrimap_splits_updated();
CREATE TRIGGER agrimap_splits_deleted AFTER DELETE ON crop
  REFERENCING OLD TABLE AS agrimap_old_rows FOR EACH STATEMENT EXECUTE FUNCTION agrimap_splits_deleted();
CREATE TRIGGER agrimap_splits_truncated AFTER TRUNCATE ON crop
  FOR EACH STATEMENT EXECUTE FUNCTION agrimap_splits_truncated();

CREATE TRIGGER agrimap_splits_inserted AFTER INSERT ON aquaculture
  REFERENCING NEW TABLE AS agrimap_new_rows FOR EACH STATEMENT EXECUTE FUNCTION agrimap_splits_inserted();
CREATE TRIGGER agrimap_splits_updated AFTER UPDATE ON aquaculture
  REFERENCING OLD TABLE AS agrimap_old_rows NEW TABLE AS agrimap_new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION agrimap_splits_updated();
CREATE TRIGGER agrimap_splits_deleted AFTER DELETE ON aquaculture
  REFERENCING OLD TABLE AS agrimap_old_rows FOR EACH STATEMENT EXECUTE FUNCTION agrimap_splits_deleted();
CREATE TRIGGER agrimap_splits_truncated AFTER TRUNCATE ON aquaculture
  FOR EACH STATEMENT EXECUTE FUNCTION agrimap_splits_truncated();

CREATE TRIGGER agrimap_splits_inserted AFTER INSERT ON monitoring
  REFERENCING NEW TABLE AS agrimap_new_rows FOR EACH STATEMENT EXECUTE FUNCTION agrimap_splits_inserted();
CREATE TRIGGER agrimap_splits_updated AFTER UPDATE ON monitoring
  REFERENCING OLD TABLE AS agrimap_old_rows NEW TABLE AS agrimap_new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION agrimap_splits_updated();
CREATE TRIGGER agrimap_splits_deleted AFTER DELETE ON monitoring
  REFERENCING OLD TABLE AS agrimap_old_rows FOR EACH STATEMENT EXECUTE FUNCTION agrimap_splits_deleted();
CREATE TRIGGER agrimap_splits_truncated AFTER TRUNCATE ON monitoring
  FOR EACH STATEMENT EXECUTE FUNCTION agrimap_splits_truncated();

CREATE TRIGGER agrimap_splits_inserted AFTER INSERT ON growing_area
  REFERENCING NEW TABLE AS agrimap_new_rows FOR EACH STATEMENT EXECUTE FUNCTION agrimap_splits_inserted();
CREATE TRIGGER agrimap_splits_updated AFTER UPDATE ON growing_area
  REFERENCING OLD TABLE AS agrimap_old_rows NEW TABLE AS agrimap_new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION agrimap_splits_updated();
CREATE TRIGGER agrimap_splits_deleted AFTER DELETE ON growing_area
  REFERENCING OLD TABLE AS agrimap_old_rows FOR EACH STATEMENT EXECUTE FUNCTION agrimap_splits_deleted();
CREATE TRIGGER agrimap_splits_truncated AFTER TRUNCATE ON growing_area
  FOR EACH STATEMENT EXECUTE FUNCTION agrimap_splits_truncated();

CREATE TRIGGER agrimap_splits_inserted AFTER INSERT ON ocop
  REFERENCING NEW TABLE AS agrimap_new_rows FOR EACH STATEMENT EXECUTE FUNCTION agrimap_splits_inserted();
CREATE TRIGGER agrimap_splits_updated AFTER UPDATE ON ocop
  REFERENCING OLD TABLE AS agrimap_old_rows NEW TABLE AS agrimap_new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION agrimap_splits_updated();
CREATE TRIGGER agrimap_splits_deleted AFTER DELETE ON ocop
  REFERENCING OLD TABLE AS agrimap_old_rows FOR EACH STATEMENT EXECUTE FUNCTION agrimap_splits_deleted();
CREATE TRIGGER agrimap_splits_truncated AFTER TRUNCATE ON ocop
  FOR EACH STATEMENT EXECUTE FUNCTION agrimap_splits_truncated();

CREATE TRIGGER agrimap_splits_inserted AFTER INSERT ON irrigation_works
  REFERENCING NEW TABLE AS agrimap_new_rows FOR EACH STATEMENT EXECUTE FUNCTION agrimap_splits_inserted();
CREATE TRIGGER agrimap_splits_updated AFTER UPDATE ON irrigation_works
  REFERENCING OLD TABLE AS agrimap_old_rows NEW TABLE AS agrimap_new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION agrimap_splits_updated();
CREATE TRIGGER agrimap_splits_deleted AFTER DELETE ON irrigation_works
  REFERENCING OLD TABLE AS agrimap_old_rows FOR EACH STATEMENT EXECUTE FUNCTION agrimap_splits_deleted();
CREATE TRIGGER agrimap_splits_truncated AFTER TRUNCATE ON irrigation_works
  FOR EACH STATEMENT EXECUTE FUNCTION agrimap_splits_truncated();

CREATE TRIGGER agrimap_splits_inserted AFTER INSERT ON irrigated_areas
  REFERENCING NEW TABLE AS agrimap_new_rows FOR EACH STATEMENT EXECUTE FUNCTION agrimap_splits_inserted();
CREATE TRIGGER agrimap_splits_updated AFTER UPDATE ON irrigated_areas
  REFERENCING OLD TABLE AS agrimap_old_rows NEW TABLE AS agrimap_new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION agrimap_splits_updated();
CREATE TRIGGER agrimap_splits_deleted AFTER DELETE ON irrigated_areas
  REFERENCING OLD TABLE AS agrimap_old_rows FOR EACH STATEMENT EXECUTE FUNCTION agrimap_splits_deleted();
CREATE TRIGGER agrimap_splits_truncated AFTER TRUNCATE ON irrigated_areas
  FOR EACH STATEMENT EXECUTE FUNCTION agrimap_splits_truncated();

CREATE TRIGGER agrimap_splits_inserted AFTER INSERT ON forest_plots
  REFERENCING NEW TABLE AS agrimap_new_rows FOR EACH STATEMENT EXECUTE FUNCTION agrimap_splits_inserted();
CREATE TRIGGER agrimap_splits_updated AFTER UPDATE ON forest_plots
  REFERENCING OLD TABLE AS agrimap_old_rows NEW TABLE AS agrimap_new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION agrimap_splits_updated();
CREATE TRIGGER agrimap_splits_deleted AFTER DELETE ON forest_plots
  REFERENCING OLD TABLE AS agrimap_old_rows FOR EACH STATEMENT EXECUTE FUNCTION agrimap_splits_deleted();
CREATE TRIGGER agrimap_splits_truncated AFTER TRUNCATE ON forest_plots
  FOR EACH STATEMENT EXECUTE FUNCTION agrimap_splits_truncated();

CREATE TRIGGER agrimap_splits_inserted AFTER INSERT ON livestock_farms
  REFERENCING NEW TABLE AS agrimap_new_rows FOR EACH STATEMENT EXECUTE FUNCTION agrimap_splits_inserted();
CREATE TRIGGER agrimap_splits_updated AFTER UPDATE ON livestock_farms
  REFERENCING OLD TABLE AS agrimap_old_rows NEW TABLE AS agrimap_new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION agrimap_splits_updated();
CREATE TRIGGER agrimap_splits_deleted AFTER DELETE ON livestock_farms
  REFERENCING OLD TABLE AS agrimap_old_rows FOR EACH STATEMENT EXECUTE FUNCTION agrimap_splits_deleted();
CREATE TRIGGER agrimap_splits_truncated AFTER TRUNCATE ON livestock_farms
  FOR EACH STATEMENT EXECUTE FUNCTION agrimap_splits_truncated();

CREATE TRIGGER agrimap_splits_boundaries AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON admin_commune
  FOR EACH STATEMENT EXECUTE FUNCTION agrimap_splits_boundaries();

-- Features stored before splits get theirs at the next write or statistic.
INSERT INTO agrimap_split_pending (layer, fid) VALUES ('admin_commune', 0) ON CONFLICT DO NOTHING;
