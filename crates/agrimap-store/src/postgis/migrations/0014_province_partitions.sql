-- The thematic tables partitioned by province (issue 19): one table per
-- layer, PARTITION BY LIST (province_code), one partition per province whose
-- boundaries the store holds and one ('') for features of no known province
-- (no commune code, or a commune of no boundaries loaded). The primary key
-- includes the partition key, as PostgreSQL requires: (fid, province_code);
-- fid stays unique through its sequence. A populated table is copied into
-- its partitioned successor within this migration's transaction.

-- Moving every row of a large province takes longer than any query may.
SET LOCAL statement_timeout = 0;

-- The province of a feature: that of its commune in its own boundary set,
-- else that of the commune with its code in the newest set that has it, else
-- '' (no known province).
CREATE OR REPLACE FUNCTION agrimap_province_of(commune text, set text) RETURNS text LANGUAGE sql STABLE AS $$
  SELECT coalesce(
    (SELECT province_code FROM admin_commune WHERE code = commune AND boundary_set = set LIMIT 1),
    (SELECT province_code FROM admin_commune WHERE code = commune ORDER BY boundary_set DESC LIMIT 1),
    '')
$$;

-- Makes the partitions of province `code` ('' for no known province) in
-- every table partitioned by province that lacks one; returns how many it
-- made. Partitions are named {table}_p{code}, or {table}_p_none.
CREATE OR REPLACE FUNCTION agrimap_add_province(code text) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
  parent regclass;
  made integer := 0;
BEGIN
  FOR parent IN
    SELECT p.partrelid::regclass FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid
    WHERE c.relnamespace = current_schema()::regnamespace
      AND pg_get_partkeydef(p.partrelid) = 'LIST (province_code)'
  LOOP
    IF NOT EXISTS (
      SELECT 1 FROM pg_inherits i JOIN pg_class k ON k.oid = i.inhrelid
      WHERE i.inhparent = parent
        AND pg_get_expr(k.relpartbound, k.oid) = format('FOR VALUES IN (%L)', code)
    ) THEN
      EXECUTE format('CREATE TABLE %I PARTITION OF %s FOR VALUES IN (%L)',
        (SELECT relname FROM pg_class WHERE oid = parent) || CASE WHEN code = '' THEN '_p_none' ELSE '_p' || code END,
        parent, code);
      made := made + 1;
    END IF;
  END LOOP;
  RETURN made;
END
$$;

-- crop
ALTER TABLE crop RENAME TO crop_unpartitioned;
ALTER SEQUENCE crop_fid_seq OWNED BY NONE;
CREATE TABLE crop (LIKE crop_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS,
  province_code text NOT NULL DEFAULT '') PARTITION BY LIST (province_code);

-- aquaculture
ALTER TABLE aquaculture RENAME TO aquaculture_unpartitioned;
ALTER SEQUENCE aquaculture_fid_seq OWNED BY NONE;
CREATE TABLE aquaculture (LIKE aquaculture_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS,
  province_code text NOT NULL DEFAULT '') PARTITION BY LIST (province_code);

-- monitoring
ALTER TABLE monitoring RENAME TO monitoring_unpartitioned;
ALTER SEQUENCE monitoring_fid_seq OWNED BY NONE;
CREATE TABLE monitoring (LIKE monitoring_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS,
  province_code text NOT NULL DEFAULT '') PARTITION BY LIST (province_code);

-- growing_area
ALTER TABLE growing_area RENAME TO growing_area_unpartitioned;
ALTER SEQUENCE growing_area_fid_seq OWNED BY NONE;
CREATE TABLE growing_area (LIKE growing_area_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS,
  province_code text NOT NULL DEFAULT '') PARTITION BY LIST (province_code);

-- ocop
ALTER TABLE ocop RENAME TO ocop_unpartitioned;
ALTER SEQUENCE ocop_fid_seq OWNED BY NONE;
CREATE TABLE ocop (LIKE ocop_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS,
  province_code text NOT NULL DEFAULT '') PARTITION BY LIST (province_code);

-- irrigation_works
ALTER TABLE irrigation_works RENAME TO irrigation_works_unpartitioned;
ALTER SEQUENCE irrigation_works_fid_seq OWNED BY NONE;
CREATE TABLE irrigation_works (LIKE irrigation_works_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS,
  province_code text NOT NULL DEFAULT '') PARTITION BY LIST (province_code);

-- irrigated_areas
ALTER TABLE irrigated_areas RENAME TO irrigated_areas_unpartitioned;
ALTER SEQUENCE irrigated_areas_fid_seq OWNED BY NONE;
CREATE TABLE irrigated_areas (LIKE irrigated_areas_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS,
  province_code text NOT NULL DEFAULT '') PARTITION BY LIST (province_code);

-- forest_plots
ALTER TABLE forest_plots RENAME TO forest_plots_unpartitioned;
ALTER SEQUENCE forest_plots_fid_seq OWNED BY NONE;
CREATE TABLE forest_plots (LIKE forest_plots_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS,
  province_code text NOT NULL DEFAULT '') PARTITION BY LIST (province_code);

-- livestock_farms
ALTER TABLE livestock_farms RENAME TO livestock_farms_unpartitioned;
ALTER SEQUENCE livestock_farms_fid_seq OWNED BY NONE;
CREATE TABLE livestock_farms (LIKE livestock_farms_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS,
  province_code text NOT NULL DEFAULT '') PARTITION BY LIST (province_code);

-- A partition for every province whose boundaries the store holds, and
-- one for the features of no known province.
SELECT agrimap_add_province(p) FROM (SELECT '' AS p UNION SELECT DISTINCT province_code FROM admin_commune) s;

-- crop
INSERT INTO crop SELECT o.*, agrimap_province_of(o.commune_code, o.boundary_set) FROM crop_unpartitioned o;
DROP TABLE crop_unpartitioned;
ALTER SEQUENCE crop_fid_seq OWNED BY crop.fid;
ALTER TABLE crop ADD PRIMARY KEY (fid, province_code);
CREATE INDEX crop_geom ON crop USING gist (geom);
CREATE INDEX crop_commune_code ON crop (commune_code);
CREATE INDEX crop_natural_key ON crop (parcel_id);
CREATE TRIGGER crop_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON crop
  FOR EACH STATEMENT EXECUTE FUNCTION agrimap_bump_version('crop');
CREATE OR REPLACE FUNCTION agrimap_keep_crop() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' AND EXISTS (SELECT 1 FROM crop_history WHERE fid = OLD.fid
      AND valid_from = OLD.valid_from AND valid_to = agrimap_valid_time()) THEN
    RETURN OLD;
  END IF;
  INSERT INTO crop_history (fid, geom, parcel_id, commune_code, boundary_set, crop_type, season, variety, area_ha, planting_date, practice, growing_area_code, owner_name, owner_phone, household_id, former_commune_code, valid_from, valid_to)
    VALUES (OLD.fid, OLD.geom, OLD.parcel_id, OLD.commune_code, OLD.boundary_set, OLD.crop_type, OLD.season, OLD.variety, OLD.area_ha, OLD.planting_date, OLD.practice, OLD.growing_area_code, OLD.owner_name, OLD.owner_phone, OLD.household_id, OLD.former_commune_code, OLD.valid_from, agrimap_valid_time());
  IF TG_OP = 'UPDATE' THEN
    NEW.valid_from := agrimap_valid_time();
    RETURN NEW;
  END IF;
  RETURN OLD;
END
$$;
CREATE TRIGGER crop_history_update BEFORE UPDATE ON crop
  FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION agrimap_keep_crop();
CREATE TRIGGER crop_history_delete BEFORE DELETE ON crop
  FOR EACH ROW EXECUTE FUNCTION agrimap_keep_crop();

-- aquaculture
INSERT INTO aquaculture SELECT o.*, agrimap_province_of(o.commune_code, o.boundary_set) FROM aquaculture_unpartitioned o;
DROP TABLE aquaculture_unpartitioned;
ALTER SEQUENCE aquaculture_fid_seq OWNED BY aquaculture.fid;
ALTER TABLE aquaculture ADD PRIMARY KEY (fid, province_code);
CREATE INDEX aquaculture_geom ON aquaculture USING gist (geom);
CREATE INDEX aquaculture_commune_code ON aquaculture (commune_code);
CREATE INDEX aquaculture_natural_key ON aquaculture (pond_id);
CREATE TRIGGER aquaculture_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON aquaculture
  FOR EACH STATEMENT EXECUTE FUNCTION agrimap_bump_version('aquaculture');
CREATE OR REPLACE FUNCTION agrimap_keep_aquaculture() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' AND EXISTS (SELECT 1 FROM aquaculture_history WHERE fid = OLD.fid
      AND valid_from = OLD.valid_from AND valid_to = agrimap_valid_time()) THEN
    RETURN OLD;
  END IF;
  INSERT INTO aquaculture_history (fid, geom, pond_id, commune_code, boundary_set, species, mode, water_area_ha, facility_code, stocking_date, certification, owner_name, owner_phone, former_commune_code, valid_from, valid_to)
    VALUES (OLD.fid, OLD.geom, OLD.pond_id, OLD.commune_code, OLD.boundary_set, OLD.species, OLD.mode, OLD.water_area_ha, OLD.facility_code, OLD.stocking_date, OLD.certification, OLD.owner_name, OLD.owner_phone, OLD.former_commune_code, OLD.valid_from, agrimap_valid_time());
  IF TG_OP = 'UPDATE' THEN
    NEW.valid_from := agrimap_valid_time();
    RETURN NEW;
  END IF;
  RETURN OLD;
END
$$;
CREATE TRIGGER aquaculture_history_update BEFORE UPDATE ON aquaculture
  FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION agrimap_keep_aquaculture();
CREATE TRIGGER aquaculture_history_delete BEFORE DELETE ON aquaculture
  FOR EACH ROW EXECUTE FUNCTION agrimap_keep_aquaculture();

-- monitoring
INSERT INTO monitoring SELECT o.*, agrimap_province_of(o.commune_code, o.boundary_set) FROM monitoring_unpartitioned o;
DROP TABLE monitoring_unpartitioned;
ALTER SEQUENCE monitoring_fid_seq OWNED BY monitoring.fid;
ALTER TABLE monitoring ADD PRIMARY KEY (fid, province_code);
CREATE INDEX monitoring_geom ON monitoring USING gist (geom);
CREATE INDEX monitoring_commune_code ON monitoring (commune_code);
CREATE INDEX monitoring_natural_key ON monitoring (station_id);
CREATE TRIGGER monitoring_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON monitoring
  FOR EACH STATEMENT EXECUTE FUNCTION agrimap_bump_version('monitoring');

-- growing_area
INSERT INTO growing_area SELECT o.*, agrimap_province_of(o.commune_code, o.boundary_set) FROM growing_area_unpartitioned o;
DROP TABLE growing_area_unpartitioned;
ALTER SEQUENCE growing_area_fid_seq OWNED BY growing_area.fid;
ALTER TABLE growing_area ADD PRIMARY KEY (fid, province_code);
CREATE INDEX growing_area_geom ON growing_area USING gist (geom);
CREATE INDEX growing_area_commune_code ON growing_area (commune_code);
CREATE INDEX growing_area_natural_key ON growing_area (code);
CREATE TRIGGER growing_area_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON growing_area
  FOR EACH STATEMENT EXECUTE FUNCTION agrimap_bump_version('growing_area');
CREATE OR REPLACE FUNCTION agrimap_keep_growing_area() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' AND EXISTS (SELECT 1 FROM growing_area_history WHERE fid = OLD.fid
      AND valid_from = OLD.valid_from AND valid_to = agrimap_valid_time()) THEN
    RETURN OLD;
  END IF;
  INSERT INTO growing_area_history (fid, geom, code, commune_code, boundary_set, crop_type, area_ha, markets, status, issued_on, expires_on, households, cooperative, contact_phone, former_commune_code, valid_from, valid_to)
    VALUES (OLD.fid, OLD.geom, OLD.code, OLD.commune_code, OLD.boundary_set, OLD.crop_type, OLD.area_ha, OLD.markets, OLD.status, OLD.issued_on, OLD.expires_on, OLD.households, OLD.cooperative, OLD.contact_phone, OLD.former_commune_code, OLD.valid_from, agrimap_valid_time());
  IF TG_OP = 'UPDATE' THEN
    NEW.valid_from := agrimap_valid_time();
    RETURN NEW;
  END IF;
  RETURN OLD;
END
$$;
CREATE TRIGGER growing_area_history_update BEFORE UPDATE ON growing_area
  FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION agrimap_keep_growing_area();
CREATE TRIGGER growing_area_history_delete BEFORE DELETE ON growing_area
  FOR EACH ROW EXECUTE FUNCTION agrimap_keep_growing_area();

-- ocop
INSERT INTO ocop SELECT o.*, agrimap_province_of(o.commune_code, o.boundary_set) FROM ocop_unpartitioned o;
DROP TABLE ocop_unpartitioned;
ALTER SEQUENCE ocop_fid_seq OWNED BY ocop.fid;
ALTER TABLE ocop ADD PRIMARY KEY (fid, province_code);
CREATE INDEX ocop_geom ON ocop USING gist (geom);
CREATE INDEX ocop_commune_code ON ocop (commune_code);
CREATE INDEX ocop_natural_key ON ocop (product_id);
CREATE TRIGGER ocop_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON ocop
  FOR EACH STATEMENT EXECUTE FUNCTION agrimap_bump_version('ocop');
CREATE OR REPLACE FUNCTION agrimap_keep_ocop() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' AND EXISTS (SELECT 1 FROM ocop_history WHERE fid = OLD.fid
      AND valid_from = OLD.valid_from AND valid_to = agrimap_valid_time()) THEN
    RETURN OLD;
  END IF;
  INSERT INTO ocop_history (fid, geom, product_id, commune_code, boundary_set, name, category, stars, producer, certified_year, qr_url, former_commune_code, valid_from, valid_to)
    VALUES (OLD.fid, OLD.geom, OLD.product_id, OLD.commune_code, OLD.boundary_set, OLD.name, OLD.category, OLD.stars, OLD.producer, OLD.certified_year, OLD.qr_url, OLD.former_commune_code, OLD.valid_from, agrimap_valid_time());
  IF TG_OP = 'UPDATE' THEN
    NEW.valid_from := agrimap_valid_time();
    RETURN NEW;
  END IF;
  RETURN OLD;
END
$$;
CREATE TRIGGER ocop_history_update BEFORE UPDATE ON ocop
  FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION agrimap_keep_ocop();
CREATE TRIGGER ocop_history_delete BEFORE DELETE ON ocop
  FOR EACH ROW EXECUTE FUNCTION agrimap_keep_ocop();

-- irrigation_works
INSERT INTO irrigation_works SELECT o.*, agrimap_province_of(o.commune_code, o.boundary_set) FROM irrigation_works_unpartitioned o;
DROP TABLE irrigation_works_unpartitioned;
ALTER SEQUENCE irrigation_works_fid_seq OWNED BY irrigation_works.fid;
ALTER TABLE irrigation_works ADD PRIMARY KEY (fid, province_code);
CREATE INDEX irrigation_works_geom ON irrigation_works USING gist (geom);
CREATE INDEX irrigation_works_commune_code ON irrigation_works (commune_code);
CREATE INDEX irrigation_works_natural_key ON irrigation_works (work_id);
CREATE TRIGGER irrigation_works_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON irrigation_works
  FOR EACH STATEMENT EXECUTE FUNCTION agrimap_bump_version('irrigation_works');
CREATE OR REPLACE FUNCTION agrimap_keep_irrigation_works() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' AND EXISTS (SELECT 1 FROM irrigation_works_history WHERE fid = OLD.fid
      AND valid_from = OLD.valid_from AND valid_to = agrimap_valid_time()) THEN
    RETURN OLD;
  END IF;
  INSERT INTO irrigation_works_history (fid, geom, work_id, commune_code, boundary_set, name, kind, capacity, length_m, condition, managing_body, built_year, former_commune_code, valid_from, valid_to)
    VALUES (OLD.fid, OLD.geom, OLD.work_id, OLD.commune_code, OLD.boundary_set, OLD.name, OLD.kind, OLD.capacity, OLD.length_m, OLD.condition, OLD.managing_body, OLD.built_year, OLD.former_commune_code, OLD.valid_from, agrimap_valid_time());
  IF TG_OP = 'UPDATE' THEN
    NEW.valid_from := agrimap_valid_time();
    RETURN NEW;
  END IF;
  RETURN OLD;
END
$$;
CREATE TRIGGER irrigation_works_history_update BEFORE UPDATE ON irrigation_works
  FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION agrimap_keep_irrigation_works();
CREATE TRIGGER irrigation_works_history_delete BEFORE DELETE ON irrigation_works
  FOR EACH ROW EXECUTE FUNCTION agrimap_keep_irrigation_works();

-- irrigated_areas
INSERT INTO irrigated_areas SELECT o.*, agrimap_province_of(o.commune_code, o.boundary_set) FROM irrigated_areas_unpartitioned o;
DROP TABLE irrigated_areas_unpartitioned;
ALTER SEQUENCE irrigated_areas_fid_seq OWNED BY irrigated_areas.fid;
ALTER TABLE irrigated_areas ADD PRIMARY KEY (fid, province_code);
CREATE INDEX irrigated_areas_geom ON irrigated_areas USING gist (geom);
CREATE INDEX irrigated_areas_commune_code ON irrigated_areas (commune_code);
CREATE INDEX irrigated_areas_natural_key ON irrigated_areas (area_id);
CREATE TRIGGER irrigated_areas_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON irrigated_areas
  FOR EACH STATEMENT EXECUTE FUNCTION agrimap_bump_version('irrigated_areas');
CREATE OR REPLACE FUNCTION agrimap_keep_irrigated_areas() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' AND EXISTS (SELECT 1 FROM irrigated_areas_history WHERE fid = OLD.fid
      AND valid_from = OLD.valid_from AND valid_to = agrimap_valid_time()) THEN
    RETURN OLD;
  END IF;
  INSERT INTO irrigated_areas_history (fid, geom, area_id, commune_code, boundary_set, irrigation, drainage, source, served_by, area_ha, former_commune_code, valid_from, valid_to)
    VALUES (OLD.fid, OLD.geom, OLD.area_id, OLD.commune_code, OLD.boundary_set, OLD.irrigation, OLD.drainage, OLD.source, OLD.served_by, OLD.area_ha, OLD.former_commune_code, OLD.valid_from, agrimap_valid_time());
  IF TG_OP = 'UPDATE' THEN
    NEW.valid_from := agrimap_valid_time();
    RETURN NEW;
  END IF;
  RETURN OLD;
END
$$;
CREATE TRIGGER irrigated_areas_history_update BEFORE UPDATE ON irrigated_areas
  FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION agrimap_keep_irrigated_areas();
CREATE TRIGGER irrigated_areas_history_delete BEFORE DELETE ON irrigated_areas
  FOR EACH ROW EXECUTE FUNCTION agrimap_keep_irrigated_areas();

-- forest_plots
INSERT INTO forest_plots SELECT o.*, agrimap_province_of(o.commune_code, o.boundary_set) FROM forest_plots_unpartitioned o;
DROP TABLE forest_plots_unpartitioned;
ALTER SEQUENCE forest_plots_fid_seq OWNED BY forest_plots.fid;
ALTER TABLE forest_plots ADD PRIMARY KEY (fid, province_code);
CREATE INDEX forest_plots_geom ON forest_plots USING gist (geom);
CREATE INDEX forest_plots_commune_code ON forest_plots (commune_code);
CREATE INDEX forest_plots_natural_key ON forest_plots (plot_id);
CREATE TRIGGER forest_plots_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON forest_plots
  FOR EACH STATEMENT EXECUTE FUNCTION agrimap_bump_version('forest_plots');
CREATE OR REPLACE FUNCTION agrimap_keep_forest_plots() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' AND EXISTS (SELECT 1 FROM forest_plots_history WHERE fid = OLD.fid
      AND valid_from = OLD.valid_from AND valid_to = agrimap_valid_time()) THEN
    RETURN OLD;
  END IF;
  INSERT INTO forest_plots_history (fid, geom, plot_id, commune_code, boundary_set, forest_type, species, planting_year, area_ha, owner_name, owner_phone, former_commune_code, valid_from, valid_to)
    VALUES (OLD.fid, OLD.geom, OLD.plot_id, OLD.commune_code, OLD.boundary_set, OLD.forest_type, OLD.species, OLD.planting_year, OLD.area_ha, OLD.owner_name, OLD.owner_phone, OLD.former_commune_code, OLD.valid_from, agrimap_valid_time());
  IF TG_OP = 'UPDATE' THEN
    NEW.valid_from := agrimap_valid_time();
    RETURN NEW;
  END IF;
  RETURN OLD;
END
$$;
CREATE TRIGGER forest_plots_history_update BEFORE UPDATE ON forest_plots
  FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION agrimap_keep_forest_plots();
CREATE TRIGGER forest_plots_history_delete BEFORE DELETE ON forest_plots
  FOR EACH ROW EXECUTE FUNCTION agrimap_keep_forest_plots();

-- livestock_farms
INSERT INTO livestock_farms SELECT o.*, agrimap_province_of(o.commune_code, o.boundary_set) FROM livestock_farms_unpartitioned o;
DROP TABLE livestock_farms_unpartitioned;
ALTER SEQUENCE livestock_farms_fid_seq OWNED BY livestock_farms.fid;
ALTER TABLE livestock_farms ADD PRIMARY KEY (fid, province_code);
CREATE INDEX livestock_farms_geom ON livestock_farms USING gist (geom);
CREATE INDEX livestock_farms_commune_code ON livestock_farms (commune_code);
CREATE INDEX livestock_farms_natural_key ON livestock_farms (farm_id);
CREATE TRIGGER livestock_farms_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON livestock_farms
  FOR EACH STATEMENT EXECUTE FUNCTION agrimap_bump_version('livestock_farms');
CREATE OR REPLACE FUNCTION agrimap_keep_livestock_farms() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' AND EXISTS (SELECT 1 FROM livestock_farms_history WHERE fid = OLD.fid
      AND valid_from = OLD.valid_from AND valid_to = agrimap_valid_time()) THEN
    RETURN OLD;
  END IF;
  INSERT INTO livestock_farms_history (fid, geom, farm_id, commune_code, boundary_set, species, head_count, scale, biosecurity, owner_name, owner_phone, former_commune_code, valid_from, valid_to)
    VALUES (OLD.fid, OLD.geom, OLD.farm_id, OLD.commune_code, OLD.boundary_set, OLD.species, OLD.head_count, OLD.scale, OLD.biosecurity, OLD.owner_name, OLD.owner_phone, OLD.former_commune_code, OLD.valid_from, agrimap_valid_time());
  IF TG_OP = 'UPDATE' THEN
    NEW.valid_from := agrimap_valid_time();
    RETURN NEW;
  END IF;
  RETURN OLD;
END
$$;
CREATE TRIGGER livestock_farms_history_update BEFORE UPDATE ON livestock_farms
  FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION agrimap_keep_livestock_farms();
CREATE TRIGGER livestock_farms_history_delete BEFORE DELETE ON livestock_farms
  FOR EACH ROW EXECUTE FUNCTION agrimap_keep_livestock_farms();
