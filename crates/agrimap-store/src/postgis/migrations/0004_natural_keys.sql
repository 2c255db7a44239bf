-- Indexes on each layer's natural key (agrimap_model LayerDef::natural_key),
-- so that an import updating features by key finds them without a scan.
CREATE INDEX IF NOT EXISTS admin_province_natural_key ON admin_province (code, boundary_set);
CREATE INDEX IF NOT EXISTS admin_district_natural_key ON admin_district (code, boundary_set);
CREATE INDEX IF NOT EXISTS admin_commune_natural_key ON admin_commune (code, boundary_set);
CREATE INDEX IF NOT EXISTS crop_natural_key ON crop (parcel_id);
CREATE INDEX IF NOT EXISTS aquaculture_natural_key ON aquaculture (pond_id);
CREATE INDEX IF NOT EXISTS monitoring_natural_key ON monitoring (station_id);
CREATE INDEX IF NOT EXISTS growing_area_natural_key ON growing_area (code);
CREATE INDEX IF NOT EXISTS ocop_natural_key ON ocop (product_id);
