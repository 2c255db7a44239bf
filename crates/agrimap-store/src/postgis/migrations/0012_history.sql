-- Versions of the thematic layers (issue 20): each versioned layer's
-- features carry the instant they took their present form (valid_from;
-- -infinity for those stored before, known since ever), and the version an
-- update or delete replaces goes to {layer}_history with valid_to, by a
-- trigger, in the write's own transaction. The instant is the transaction's
-- agrimap.valid_time setting, or its start to the second.

CREATE OR REPLACE FUNCTION agrimap_valid_time() RETURNS timestamptz LANGUAGE sql STABLE AS $$
  SELECT coalesce(nullif(current_setting('agrimap.valid_time', true), '')::timestamptz, date_trunc('second', now()))
$$;

ALTER TABLE crop ADD COLUMN IF NOT EXISTS valid_from timestamptz NOT NULL DEFAULT '-infinity';
ALTER TABLE crop ALTER COLUMN valid_from SET DEFAULT agrimap_valid_time();
CREATE TABLE IF NOT EXISTS crop_history (
  hid bigserial PRIMARY KEY,
  fid bigint NOT NULL,
  geom geometry(MultiPolygon, 4326) NOT NULL,
  parcel_id text,
  commune_code text,
  boundary_set text,
  crop_type text,
  season text,
  variety text,
  area_ha double precision,
  planting_date date,
  practice text,
  growing_area_code text,
  owner_name text,
  owner_phone text,
  household_id text,
  former_commune_code text,
  valid_from timestamptz NOT NULL,
  valid_to timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS crop_history_fid ON crop_history (fid);
CREATE INDEX IF NOT EXISTS crop_history_geom ON crop_history USING gist (geom);
CREATE OR REPLACE FUNCTION agrimap_keep_crop() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO crop_history (fid, geom, parcel_id, commune_code, boundary_set, crop_type, season, variety, area_ha, planting_date, practice, growing_area_code, owner_name, owner_phone, household_id, former_commune_code, valid_from, valid_to)
    VALUES (OLD.fid, OLD.geom, OLD.parcel_id, OLD.commune_code, OLD.boundary_set, OLD.crop_type, OLD.season, OLD.variety, OLD.area_ha, OLD.planting_date, OLD.practice, OLD.growing_area_code, OLD.owner_name, OLD.owner_phone, OLD.household_id, OLD.former_commune_code, OLD.valid_from, agrimap_valid_time());
  IF TG_OP = 'UPDATE' THEN
    NEW.valid_from := agrimap_valid_time();
    RETURN NEW;
  END IF;
  RETURN OLD;
END
$$;
CREATE OR REPLACE TRIGGER crop_history_update BEFORE UPDATE ON crop
  FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION agrimap_keep_crop();
CREATE OR REPLACE TRIGGER crop_history_delete BEFORE DELETE ON crop
  FOR EACH ROW EXECUTE FUNCTION agrimap_keep_crop();

ALTER TABLE aquaculture ADD COLUMN IF NOT EXISTS valid_from timestamptz NOT NULL DEFAULT '-infinity';
ALTER TABLE aquaculture ALTER COLUMN valid_from SET DEFAULT agrimap_valid_time();
CREATE TABLE IF NOT EXISTS aquaculture_history (
  hid bigserial PRIMARY KEY,
  fid bigint NOT NULL,
  geom geometry(MultiPolygon, 4326) NOT NULL,
  pond_id text,
  commune_code text,
  boundary_set text,
  species text,
  mode text,
  water_area_ha double precision,
  facility_code text,
  stocking_date date,
  certification text,
  owner_name text,
  owner_phone text,
  former_commune_code text,
  valid_from timestamptz NOT NULL,
  valid_to timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS aquaculture_history_fid ON aquaculture_history (fid);
CREATE INDEX IF NOT EXISTS aquaculture_history_geom ON aquaculture_history USING gist (geom);
CREATE OR REPLACE FUNCTION agrimap_keep_aquaculture() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO aquaculture_history (fid, geom, pond_id, commune_code, boundary_set, species, mode, water_area_ha, facility_code, stocking_date, certification, owner_name, owner_phone, former_commune_code, valid_from, valid_to)
    VALUES (OLD.fid, OLD.geom, OLD.pond_id, OLD.commune_code, OLD.boundary_set, OLD.species, OLD.mode, OLD.water_area_ha, OLD.facility_code, OLD.stocking_date, OLD.certification, OLD.owner_name, OLD.owner_phone, OLD.former_commune_code, OLD.valid_from, agrimap_valid_time());
  IF TG_OP = 'UPDATE' THEN
    NEW.valid_from := agrimap_valid_time();
    RETURN NEW;
  END IF;
  RETURN OLD;
END
$$;
CREATE OR REPLACE TRIGGER aquaculture_history_update BEFORE UPDATE ON aquaculture
  FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION agrimap_keep_aquaculture();
CREATE OR REPLACE TRIGGER aquaculture_history_delete BEFORE DELETE ON aquaculture
  FOR EACH ROW EXECUTE FUNCTION agrimap_keep_aquaculture();

ALTER TABLE growing_area ADD COLUMN IF NOT EXISTS valid_from timestamptz NOT NULL DEFAULT '-infinity';
ALTER TABLE growing_area ALTER COLUMN valid_from SET DEFAULT agrimap_valid_time();
CREATE TABLE IF NOT EXISTS growing_area_history (
  hid bigserial PRIMARY KEY,
  fid bigint NOT NULL,
  geom geometry(MultiPolygon, 4326) NOT NULL,
  code text,
  commune_code text,
  boundary_set text,
  crop_type text,
  area_ha double precision,
  markets text,
  status text,
  issued_on date,
  expires_on date,
  households bigint,
  cooperative text,
  contact_phone text,
  former_commune_code text,
  valid_from timestamptz NOT NULL,
  valid_to timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS growing_area_history_fid ON growing_area_history (fid);
CREATE INDEX IF NOT EXISTS growing_area_history_geom ON growing_area_history USING gist (geom);
CREATE OR REPLACE FUNCTION agrimap_keep_growing_area() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO growing_area_history (fid, geom, code, commune_code, boundary_set, crop_type, area_ha, markets, status, issued_on, expires_on, households, cooperative, contact_phone, former_commune_code, valid_from, valid_to)
    VALUES (OLD.fid, OLD.geom, OLD.code, OLD.commune_code, OLD.boundary_set, OLD.crop_type, OLD.area_ha, OLD.markets, OLD.status, OLD.issued_on, OLD.expires_on, OLD.households, OLD.cooperative, OLD.contact_phone, OLD.former_commune_code, OLD.valid_from, agrimap_valid_time());
  IF TG_OP = 'UPDATE' THEN
    NEW.valid_from := agrimap_valid_time();
    RETURN NEW;
  END IF;
  RETURN OLD;
END
$$;
CREATE OR REPLACE TRIGGER growing_area_history_update BEFORE UPDATE ON growing_area
  FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION agrimap_keep_growing_area();
CREATE OR REPLACE TRIGGER growing_area_history_delete BEFORE DELETE ON growing_area
  FOR EACH ROW EXECUTE FUNCTION agrimap_keep_growing_area();

ALTER TABLE ocop ADD COLUMN IF NOT EXISTS valid_from timestamptz NOT NULL DEFAULT '-infinity';
ALTER TABLE ocop ALTER COLUMN valid_from SET DEFAULT agrimap_valid_time();
CREATE TABLE IF NOT EXISTS ocop_history (
  hid bigserial PRIMARY KEY,
  fid bigint NOT NULL,
  geom geometry(Point, 4326) NOT NULL,
  product_id text,
  commune_code text,
  boundary_set text,
  name text,
  category text,
  stars bigint,
  producer text,
  certified_year bigint,
  qr_url text,
  former_commune_code text,
  valid_from timestamptz NOT NULL,
  valid_to timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS ocop_history_fid ON ocop_history (fid);
CREATE INDEX IF NOT EXISTS ocop_history_geom ON ocop_history USING gist (geom);
CREATE OR REPLACE FUNCTION agrimap_keep_ocop() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO ocop_history (fid, geom, product_id, commune_code, boundary_set, name, category, stars, producer, certified_year, qr_url, former_commune_code, valid_from, valid_to)
    VALUES (OLD.fid, OLD.geom, OLD.product_id, OLD.commune_code, OLD.boundary_set, OLD.name, OLD.category, OLD.stars, OLD.producer, OLD.certified_year, OLD.qr_url, OLD.former_commune_code, OLD.valid_from, agrimap_valid_time());
  IF TG_OP = 'UPDATE' THEN
    NEW.valid_from := agrimap_valid_time();
    RETURN NEW;
  END IF;
  RETURN OLD;
END
$$;
CREATE OR REPLACE TRIGGER ocop_history_update BEFORE UPDATE ON ocop
  FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION agrimap_keep_ocop();
CREATE OR REPLACE TRIGGER ocop_history_delete BEFORE DELETE ON ocop
  FOR EACH ROW EXECUTE FUNCTION agrimap_keep_ocop();

ALTER TABLE irrigation_works ADD COLUMN IF NOT EXISTS valid_from timestamptz NOT NULL DEFAULT '-infinity';
ALTER TABLE irrigation_works ALTER COLUMN valid_from SET DEFAULT agrimap_valid_time();
CREATE TABLE IF NOT EXISTS irrigation_works_history (
  hid bigserial PRIMARY KEY,
  fid bigint NOT NULL,
  geom geometry(Geometry, 4326) NOT NULL,
  work_id text,
  commune_code text,
  boundary_set text,
  name text,
  kind text,
  capacity double precision,
  length_m double precision,
  condition text,
  managing_body text,
  built_year bigint,
  former_commune_code text,
  valid_from timestamptz NOT NULL,
  valid_to timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS irrigation_works_history_fid ON irrigation_works_history (fid);
CREATE INDEX IF NOT EXISTS irrigation_works_history_geom ON irrigation_works_history USING gist (geom);
CREATE OR REPLACE FUNCTION agrimap_keep_irrigation_works() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO irrigation_works_history (fid, geom, work_id, commune_code, boundary_set, name, kind, capacity, length_m, condition, managing_body, built_year, former_commune_code, valid_from, valid_to)
    VALUES (OLD.fid, OLD.geom, OLD.work_id, OLD.commune_code, OLD.boundary_set, OLD.name, OLD.kind, OLD.capacity, OLD.length_m, OLD.condition, OLD.managing_body, OLD.built_year, OLD.former_commune_code, OLD.valid_from, agrimap_valid_time());
  IF TG_OP = 'UPDATE' THEN
    NEW.valid_from := agrimap_valid_time();
    RETURN NEW;
  END IF;
  RETURN OLD;
END
$$;
CREATE OR REPLACE TRIGGER irrigation_works_history_update BEFORE UPDATE ON irrigation_works
  FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION agrimap_keep_irrigation_works();
CREATE OR REPLACE TRIGGER irrigation_works_history_delete BEFORE DELETE ON irrigation_works
  FOR EACH ROW EXECUTE FUNCTION agrimap_keep_irrigation_works();

ALTER TABLE irrigated_areas ADD COLUMN IF NOT EXISTS valid_from timestamptz NOT NULL DEFAULT '-infinity';
ALTER TABLE irrigated_areas ALTER COLUMN valid_from SET DEFAULT agrimap_valid_time();
CREATE TABLE IF NOT EXISTS irrigated_areas_history (
  hid bigserial PRIMARY KEY,
  fid bigint NOT NULL,
  geom geometry(MultiPolygon, 4326) NOT NULL,
  area_id text,
  commune_code text,
  boundary_set text,
  irrigation text,
  drainage text,
  source text,
  served_by text,
  area_ha double precision,
  former_commune_code text,
  valid_from timestamptz NOT NULL,
  valid_to timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS irrigated_areas_history_fid ON irrigated_areas_history (fid);
CREATE INDEX IF NOT EXISTS irrigated_areas_history_geom ON irrigated_areas_history USING gist (geom);
CREATE OR REPLACE FUNCTION agrimap_keep_irrigated_areas() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO irrigated_areas_history (fid, geom, area_id, commune_code, boundary_set, irrigation, drainage, source, served_by, area_ha, former_commune_code, valid_from, valid_to)
    VALUES (OLD.fid, OLD.geom, OLD.area_id, OLD.commune_code, OLD.boundary_set, OLD.irrigation, OLD.drainage, OLD.source, OLD.served_by, OLD.area_ha, OLD.former_commune_code, OLD.valid_from, agrimap_valid_time());
  IF TG_OP = 'UPDATE' THEN
    NEW.valid_from := agrimap_valid_time();
    RETURN NEW;
  END IF;
  RETURN OLD;
END
$$;
CREATE OR REPLACE TRIGGER irrigated_areas_history_update BEFORE UPDATE ON irrigated_areas
  FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION agrimap_keep_irrigated_areas();
CREATE OR REPLACE TRIGGER irrigated_areas_history_delete BEFORE DELETE ON irrigated_areas
  FOR EACH ROW EXECUTE FUNCTION agrimap_keep_irrigated_areas();

ALTER TABLE forest_plots ADD COLUMN IF NOT EXISTS valid_from timestamptz NOT NULL DEFAULT '-infinity';
ALTER TABLE forest_plots ALTER COLUMN valid_from SET DEFAULT agrimap_valid_time();
CREATE TABLE IF NOT EXISTS forest_plots_history (
  hid bigserial PRIMARY KEY,
  fid bigint NOT NULL,
  geom geometry(MultiPolygon, 4326) NOT NULL,
  plot_id text,
  commune_code text,
  boundary_set text,
  forest_type text,
  species text,
  planting_year bigint,
  area_ha double precision,
  owner_name text,
  owner_phone text,
  former_commune_code text,
  valid_from timestamptz NOT NULL,
  valid_to timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS forest_plots_history_fid ON forest_plots_history (fid);
CREATE INDEX IF NOT EXISTS forest_plots_history_geom ON forest_plots_history USING gist (geom);
CREATE OR REPLACE FUNCTION agrimap_keep_forest_plots() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO forest_plots_history (fid, geom, plot_id, commune_code, boundary_set, forest_type, species, planting_year, area_ha, owner_name, owner_phone, former_commune_code, valid_from, valid_to)
    VALUES (OLD.fid, OLD.geom, OLD.plot_id, OLD.commune_code, OLD.boundary_set, OLD.forest_type, OLD.species, OLD.planting_year, OLD.area_ha, OLD.owner_name, OLD.owner_phone, OLD.former_commune_code, OLD.valid_from, agrimap_valid_time());
  IF TG_OP = 'UPDATE' THEN
    NEW.valid_from := agrimap_valid_time();
    RETURN NEW;
  END IF;
  RETURN OLD;
END
$$;
CREATE OR REPLACE TRIGGER forest_plots_history_update BEFORE UPDATE ON forest_plots
  FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION agrimap_keep_forest_plots();
CREATE OR REPLACE TRIGGER forest_plots_history_delete BEFORE DELETE ON forest_plots
  FOR EACH ROW EXECUTE FUNCTION agrimap_keep_forest_plots();

ALTER TABLE livestock_farms ADD COLUMN IF NOT EXISTS valid_from timestamptz NOT NULL DEFAULT '-infinity';
ALTER TABLE livestock_farms ALTER COLUMN valid_from SET DEFAULT agrimap_valid_time();
CREATE TABLE IF NOT EXISTS livestock_farms_history (
  hid bigserial PRIMARY KEY,
  fid bigint NOT NULL,
  geom geometry(Point, 4326) NOT NULL,
  farm_id text,
  commune_code text,
  boundary_set text,
  species text,
  head_count bigint,
  scale text,
  biosecurity text,
  owner_name text,
  owner_phone text,
  former_commune_code text,
  valid_from timestamptz NOT NULL,
  valid_to timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS livestock_farms_history_fid ON livestock_farms_history (fid);
CREATE INDEX IF NOT EXISTS livestock_farms_history_geom ON livestock_farms_history USING gist (geom);
CREATE OR REPLACE FUNCTION agrimap_keep_livestock_farms() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO livestock_farms_history (fid, geom, farm_id, commune_code, boundary_set, species, head_count, scale, biosecurity, owner_name, owner_phone, former_commune_code, valid_from, valid_to)
    VALUES (OLD.fid, OLD.geom, OLD.farm_id, OLD.commune_code, OLD.boundary_set, OLD.species, OLD.head_count, OLD.scale, OLD.biosecurity, OLD.owner_name, OLD.owner_phone, OLD.former_commune_code, OLD.valid_from, agrimap_valid_time());
  IF TG_OP = 'UPDATE' THEN
    NEW.valid_from := agrimap_valid_time();
    RETURN NEW;
  END IF;
  RETURN OLD;
END
$$;
CREATE OR REPLACE TRIGGER livestock_farms_history_update BEFORE UPDATE ON livestock_farms
  FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION agrimap_keep_livestock_farms();
CREATE OR REPLACE TRIGGER livestock_farms_history_delete BEFORE DELETE ON livestock_farms
  FOR EACH ROW EXECUTE FUNCTION agrimap_keep_livestock_farms();
