-- The official commune crosswalk of the 1 July 2025 reorganisation: one row
-- per (pre-2025 commune, 2025 commune) pair, replaced as a whole on import.
CREATE TABLE IF NOT EXISTS agrimap_crosswalk (
  old_code text NOT NULL,
  old_name text NOT NULL,
  new_province_code text NOT NULL,
  new_province_name text NOT NULL,
  new_code text NOT NULL,
  new_name text NOT NULL,
  kind text NOT NULL CHECK (kind IN ('full', 'partial')),
  PRIMARY KEY (old_code, new_code)
);
CREATE INDEX IF NOT EXISTS agrimap_crosswalk_new ON agrimap_crosswalk (new_code);

-- Where `agrimap recode --to 2025` keeps the pre-2025 code it replaces.
ALTER TABLE crop ADD COLUMN IF NOT EXISTS former_commune_code text;
ALTER TABLE aquaculture ADD COLUMN IF NOT EXISTS former_commune_code text;
ALTER TABLE monitoring ADD COLUMN IF NOT EXISTS former_commune_code text;
ALTER TABLE growing_area ADD COLUMN IF NOT EXISTS former_commune_code text;
ALTER TABLE ocop ADD COLUMN IF NOT EXISTS former_commune_code text;
