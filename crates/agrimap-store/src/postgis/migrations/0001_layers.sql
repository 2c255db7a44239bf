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

CREATE TABLE IF NOT EXISTS admin_province (
  fid bigserial PRIMARY KEY,
  geom geometry(MultiPolygon, 4326) NOT NULL,
  code text NOT NULL,
  name text NOT NULL,
  boundary_set text NOT NULL CHECK (boundary_set IN ('pre-2025', '2025')),
  area_ha double precision
);
CREATE INDEX IF NOT EXISTS admin_province_geom ON admin_province USING gist (geom);
INSERT INTO agrimap_layer_version (layer) VALUES ('admin_province') ON CONFLICT DO NOTHING;
CREATE OR REPLACE TRIGGER admin_province_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON admin_province
  FOR EACH STATEMENT EXECUTE FUNCTION agrimap_bump_version('admin_province');

CREATE TABLE IF NOT EXISTS admin_district (
  fid bigserial PRIMARY KEY,
  geom geometry(MultiPolygon, 4326) NOT NULL,
  code text NOT NULL,
  name text NOT NULL,
  province_code text NOT NULL,
  boundary_set text NOT NULL CHECK (boundary_set IN ('pre-2025', '2025')),
  kind text CHECK (kind IN ('huyen', 'thi_xa', 'thanh_pho')),
  area_ha double precision
);
CREATE INDEX IF NOT EXISTS admin_district_geom ON admin_district USING gist (geom);
INSERT INTO agrimap_layer_version (layer) VALUES ('admin_district') ON CONFLICT DO NOTHING;
CREATE OR REPLACE TRIGGER admin_district_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON admin_district
  FOR EACH STATEMENT EXECUTE FUNCTION agrimap_bump_version('admin_district');

CREATE TABLE IF NOT EXISTS admin_commune (
  fid bigserial PRIMARY KEY,
  geom geometry(MultiPolygon, 4326) NOT NULL,
  code text NOT NULL,
  name text NOT NULL,
  district_code text,
  province_code text NOT NULL,
  boundary_set text NOT NULL CHECK (boundary_set IN ('pre-2025', '2025')),
  kind text CHECK (kind IN ('xa', 'phuong', 'thi_tran')),
  ntm_status text CHECK (ntm_status IN ('not_yet', 'standard', 'advanced', 'model')),
  ntm_year bigint,
  population bigint,
  area_ha double precision
);
CREATE INDEX IF NOT EXISTS admin_commune_geom ON admin_commune USING gist (geom);
INSERT INTO agrimap_layer_version (layer) VALUES ('admin_commune') ON CONFLICT DO NOTHING;
CREATE OR REPLACE TRIGGER admin_commune_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON admin_commune
  FOR EACH STATEMENT EXECUTE FUNCTION agrimap_bump_version('admin_commune');

CREATE TABLE IF NOT EXISTS water (
  fid bigserial PRIMARY KEY,
  geom geometry(MultiLineString, 4326) NOT NULL,
  name text,
  kind text NOT NULL CHECK (kind IN ('river', 'canal')),
  width_m double precision
);
CREATE INDEX IF NOT EXISTS water_geom ON water USING gist (geom);
INSERT INTO agrimap_layer_version (layer) VALUES ('water') ON CONFLICT DO NOTHING;
CREATE OR REPLACE TRIGGER water_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON water
  FOR EACH STATEMENT EXECUTE FUNCTION agrimap_bump_version('water');

CREATE TABLE IF NOT EXISTS roads (
  fid bigserial PRIMARY KEY,
  geom geometry(MultiLineString, 4326) NOT NULL,
  name text,
  ref text,
  class text NOT NULL CHECK (class IN ('national', 'provincial', 'district', 'commune')),
  surface text CHECK (surface IN ('asphalt', 'concrete', 'gravel'))
);
CREATE INDEX IF NOT EXISTS roads_geom ON roads USING gist (geom);
INSERT INTO agrimap_layer_version (layer) VALUES ('roads') ON CONFLICT DO NOTHING;
CREATE OR REPLACE TRIGGER roads_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON roads
  FOR EACH STATEMENT EXECUTE FUNCTION agrimap_bump_version('roads');

CREATE TABLE IF NOT EXISTS places (
  fid bigserial PRIMARY KEY,
  geom geometry(Point, 4326) NOT NULL,
  name text NOT NULL,
  kind text NOT NULL CHECK (kind IN ('province_capital', 'town', 'commune_centre', 'hamlet')),
  commune_code text,
  boundary_set text NOT NULL CHECK (boundary_set IN ('pre-2025', '2025')),
  population bigint
);
CREATE INDEX IF NOT EXISTS places_geom ON places USING gist (geom);
INSERT INTO agrimap_layer_version (layer) VALUES ('places') ON CONFLICT DO NOTHING;
CREATE OR REPLACE TRIGGER places_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON places
  FOR EACH STATEMENT EXECUTE FUNCTION agrimap_bump_version('places');
CREATE INDEX IF NOT EXISTS places_commune_code ON places (commune_code);

CREATE TABLE IF NOT EXISTS crop (
  fid bigserial PRIMARY KEY,
  geom geometry(MultiPolygon, 4326) NOT NULL,
  parcel_id text NOT NULL,
  commune_code text NOT NULL,
  boundary_set text NOT NULL CHECK (boundary_set IN ('pre-2025', '2025')),
  crop_type text NOT NULL CHECK (crop_type IN ('rice', 'mango', 'longan', 'durian', 'pomelo', 'lotus', 'vegetables')),
  season text NOT NULL CHECK (season IN ('dong_xuan', 'he_thu', 'thu_dong', 'perennial')),
  variety text,
  area_ha double precision,
  planting_date date,
  practice text CHECK (practice IN ('conventional', 'vietgap', 'globalgap', 'organic')),
  growing_area_code text,
  owner_name text,
  owner_phone text,
  household_id text
);
CREATE INDEX IF NOT EXISTS crop_geom ON crop USING gist (geom);
INSERT INTO agrimap_layer_version (layer) VALUES ('crop') ON CONFLICT DO NOTHING;
CREATE OR REPLACE TRIGGER crop_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON crop
  FOR EACH STATEMENT EXECUTE FUNCTION agrimap_bump_version('crop');
CREATE INDEX IF NOT EXISTS crop_commune_code ON crop (commune_code);

CREATE TABLE IF NOT EXISTS aquaculture (
  fid bigserial PRIMARY KEY,
  geom geometry(MultiPolygon, 4326) NOT NULL,
  pond_id text NOT NULL,
  commune_code text NOT NULL,
  boundary_set text NOT NULL CHECK (boundary_set IN ('pre-2025', '2025')),
  species text NOT NULL CHECK (species IN ('black_tiger_shrimp', 'whiteleg_shrimp', 'tra_catfish', 'giant_freshwater_prawn', 'snakehead')),
  mode text NOT NULL CHECK (mode IN ('intensive', 'semi_intensive', 'extensive', 'rice_shrimp')),
  water_area_ha double precision,
  facility_code text,
  stocking_date date,
  certification text CHECK (certification IN ('none', 'vietgap', 'asc', 'bap')),
  owner_name text,
  owner_phone text
);
CREATE INDEX IF NOT EXISTS aquaculture_geom ON aquaculture USING gist (geom);
INSERT INTO agrimap_layer_version (layer) VALUES ('aquaculture') ON CONFLICT DO NOTHING;
CREATE OR REPLACE TRIGGER aquaculture_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON aquaculture
  FOR EACH STATEMENT EXECUTE FUNCTION agrimap_bump_version('aquaculture');
CREATE INDEX IF NOT EXISTS aquaculture_commune_code ON aquaculture (commune_code);

CREATE TABLE IF NOT EXISTS monitoring (
  fid bigserial PRIMARY KEY,
  geom geometry(Point, 4326) NOT NULL,
  station_id text NOT NULL,
  commune_code text NOT NULL,
  boundary_set text NOT NULL CHECK (boundary_set IN ('pre-2025', '2025')),
  name text NOT NULL,
  kind text NOT NULL CHECK (kind IN ('water_quality', 'insect_trap', 'weather')),
  parameters text,
  operator text,
  status text CHECK (status IN ('active', 'maintenance', 'offline')),
  latest_salinity double precision,
  latest_ph double precision,
  latest_dissolved_oxygen double precision,
  latest_temperature double precision,
  latest_pest_count bigint,
  alert_state text CHECK (alert_state IN ('ok', 'watch', 'alarm')),
  last_reading_at timestamptz
);
CREATE INDEX IF NOT EXISTS monitoring_geom ON monitoring USING gist (geom);
INSERT INTO agrimap_layer_version (layer) VALUES ('monitoring') ON CONFLICT DO NOTHING;
CREATE OR REPLACE TRIGGER monitoring_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON monitoring
  FOR EACH STATEMENT EXECUTE FUNCTION agrimap_bump_version('monitoring');
CREATE INDEX IF NOT EXISTS monitoring_commune_code ON monitoring (commune_code);

CREATE TABLE IF NOT EXISTS growing_area (
  fid bigserial PRIMARY KEY,
  geom geometry(MultiPolygon, 4326) NOT NULL,
  code text NOT NULL,
  commune_code text NOT NULL,
  boundary_set text NOT NULL CHECK (boundary_set IN ('pre-2025', '2025')),
  crop_type text NOT NULL CHECK (crop_type IN ('rice', 'mango', 'longan', 'durian', 'pomelo', 'lotus', 'vegetables')),
  area_ha double precision,
  markets text,
  status text NOT NULL CHECK (status IN ('active', 'suspended', 'revoked')),
  issued_on date,
  expires_on date,
  households bigint,
  cooperative text,
  contact_phone text
);
CREATE INDEX IF NOT EXISTS growing_area_geom ON growing_area USING gist (geom);
INSERT INTO agrimap_layer_version (layer) VALUES ('growing_area') ON CONFLICT DO NOTHING;
CREATE OR REPLACE TRIGGER growing_area_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON growing_area
  FOR EACH STATEMENT EXECUTE FUNCTION agrimap_bump_version('growing_area');
CREATE INDEX IF NOT EXISTS growing_area_commune_code ON growing_area (commune_code);

CREATE TABLE IF NOT EXISTS ocop (
  fid bigserial PRIMARY KEY,
  geom geometry(Point, 4326) NOT NULL,
  product_id text NOT NULL,
  commune_code text NOT NULL,
  boundary_set text NOT NULL CHECK (boundary_set IN ('pre-2025', '2025')),
  name text NOT NULL,
  category text CHECK (category IN ('food', 'beverage', 'herbal', 'textile_handicraft', 'ornamental', 'tourism_service')),
  stars bigint NOT NULL,
  producer text,
  certified_year bigint,
  qr_url text
);
CREATE INDEX IF NOT EXISTS ocop_geom ON ocop USING gist (geom);
INSERT INTO agrimap_layer_version (layer) VALUES ('ocop') ON CONFLICT DO NOTHING;
CREATE OR REPLACE TRIGGER ocop_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON ocop
  FOR EACH STATEMENT EXECUTE FUNCTION agrimap_bump_version('ocop');
CREATE INDEX IF NOT EXISTS ocop_commune_code ON ocop (commune_code);
