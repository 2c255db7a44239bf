-- Value lists as data: codes with their labels, seeded by the store with the
-- national defaults when this migration is applied.
CREATE TABLE IF NOT EXISTS agrimap_codes (
  list text NOT NULL,
  code text NOT NULL,
  label_vi text NOT NULL,
  label_en text NOT NULL,
  retired boolean NOT NULL DEFAULT false,
  PRIMARY KEY (list, code)
);
-- The lists' values were fixed by CHECK constraints before; the store now checks them.
ALTER TABLE crop DROP CONSTRAINT IF EXISTS crop_crop_type_check;
ALTER TABLE crop DROP CONSTRAINT IF EXISTS crop_season_check;
ALTER TABLE crop DROP CONSTRAINT IF EXISTS crop_practice_check;
ALTER TABLE aquaculture DROP CONSTRAINT IF EXISTS aquaculture_species_check;
ALTER TABLE aquaculture DROP CONSTRAINT IF EXISTS aquaculture_mode_check;
ALTER TABLE growing_area DROP CONSTRAINT IF EXISTS growing_area_crop_type_check;
ALTER TABLE monitoring DROP CONSTRAINT IF EXISTS monitoring_kind_check;
