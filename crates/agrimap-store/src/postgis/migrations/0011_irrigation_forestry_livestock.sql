-- The irrigation, forestry and livestock layers (issue 18), as the catalog
-- defines them; their listed fields take the code lists, which the store
-- seeds when it applies this migration.

CREATE TABLE IF NOT EXISTS irrigation_works (
  fid bigserial PRIMARY KEY,
  geom geometry(Geometry, 4326) NOT NULL
    CHECK (GeometryType(geom) IN ('POINT', 'MULTILINESTRING')),
  work_id text NOT NULL,
  commune_code text NOT NULL,
  boundary_set text NOT NULL CHECK (boundary_set IN ('pre-2025', '2025')),
  name text,
  kind text NOT NULL,
  capacity double precision,
  length_m double precision,
  condition text NOT NULL CHECK (condition IN ('good', 'fair', 'degraded', 'damaged')),
  managing_body text,
  built_year bigint,
  former_commune_code text
);
CREATE INDEX IF NOT EXISTS irrigation_works_geom ON irrigation_works USING gist (geom);
INSERT INTO agrimap_layer_version (layer) VALUES ('irrigation_works') ON CONFLICT DO NOTHING;
CREATE OR REPLACE TRIGGER irrigation_works_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON irrigation_works
  FOR EACH STATEMENT EXECUTE FUNCTION agrimap_bump_version('irrigation_works');
CREATE INDEX IF NOT EXISTS irrigation_works_commune_code ON irrigation_works (commune_code);
CREATE INDEX IF NOT EXISTS irrigation_works_natural_key ON irrigation_works (work_id);

CREATE TABLE IF NOT EXISTS irrigated_areas (
  fid bigserial PRIMARY KEY,
  geom geometry(MultiPolygon, 4326) NOT NULL,
  area_id text NOT NULL,
  commune_code text NOT NULL,
  boundary_set text NOT NULL CHECK (boundary_set IN ('pre-2025', '2025')),
  irrigation text NOT NULL CHECK (irrigation IN ('active', 'not_active')),
  drainage text NOT NULL CHECK (drainage IN ('active', 'not_active')),
  source text NOT NULL,
  served_by text,
  area_ha double precision,
  former_commune_code text
);
CREATE INDEX IF NOT EXISTS irrigated_areas_geom ON irrigated_areas USING gist (geom);
INSERT INTO agrimap_layer_version (layer) VALUES ('irrigated_areas') ON CONFLICT DO NOTHING;
CREATE OR REPLACE TRIGGER irrigated_areas_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON irrigated_areas
  FOR EACH STATEMENT EXECUTE FUNCTION agrimap_bump_version('irrigated_areas');
CREATE INDEX IF NOT EXISTS irrigated_areas_commune_code ON irrigated_areas (commune_code);
CREATE INDEX IF NOT EXISTS irrigated_areas_natural_key ON irrigated_areas (area_id);

CREATE TABLE IF NOT EXISTS forest_plots (
  fid bigserial PRIMARY KEY,
  geom geometry(MultiPolygon, 4326) NOT NULL,
  plot_id text NOT NULL,
  commune_code text NOT NULL,
  boundary_set text NOT NULL CHECK (boundary_set IN ('pre-2025', '2025')),
  forest_type text NOT NULL,
  species text NOT NULL,
  planting_year bigint,
  area_ha double precision,
  owner_name text,
  owner_phone text,
  former_commune_code text
);
CREATE INDEX IF NOT EXISTS forest_plots_geom ON forest_plots USING gist (geom);
INSERT INTO agrimap_layer_version (layer) VALUES ('forest_plots') ON CONFLICT DO NOTHING;
CREATE OR REPLACE TRIGGER forest_plots_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON forest_plots
  FOR EACH STATEMENT EXECUTE FUNCTION agrimap_bump_version('forest_plots');
CREATE INDEX IF NOT EXISTS forest_plots_commune_code ON forest_plots (commune_code);
CREATE INDEX IF NOT EXISTS forest_plots_natural_key ON forest_plots (plot_id);

CREATE TABLE IF NOT EXISTS livestock_farms (
  fid bigserial PRIMARY KEY,
  geom geometry(Point, 4326) NOT NULL,
  farm_id text NOT NULL,
  commune_code text NOT NULL,
  boundary_set text NOT NULL CHECK (boundary_set IN ('pre-2025', '2025')),
  species text NOT NULL,
  head_count bigint NOT NULL,
  scale text NOT NULL CHECK (scale IN ('large', 'medium', 'small', 'household')),
  biosecurity text NOT NULL CHECK (biosecurity IN ('none', 'vietgahp', 'disease_free')),
  owner_name text,
  owner_phone text,
  former_commune_code text
);
CREATE INDEX IF NOT EXISTS livestock_farms_geom ON livestock_farms USING gist (geom);
INSERT INTO agrimap_layer_version (layer) VALUES ('livestock_farms') ON CONFLICT DO NOTHING;
CREATE OR REPLACE TRIGGER livestock_farms_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON livestock_farms
  FOR EACH STATEMENT EXECUTE FUNCTION agrimap_bump_version('livestock_farms');
CREATE INDEX IF NOT EXISTS livestock_farms_commune_code ON livestock_farms (commune_code);
CREATE INDEX IF NOT EXISTS livestock_farms_natural_key ON livestock_farms (farm_id);
