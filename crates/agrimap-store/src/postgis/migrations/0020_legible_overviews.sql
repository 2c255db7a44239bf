-- agrimap schema version 20: the dense layers' tiles are kept whole at
-- their first legible zoom (13, `agrimap_model::LEGIBLE_ZOOM`), where a tile
-- of a two-million-parcel province holds some 17,000 parcels with their
-- public fields. Such a tile draws every public field, not only the class:
-- an update that changes neither the geometry nor a class field (the
-- triggers of 0015 and 0019 leave it alone) forgets the kept layers from
-- that zoom on whose bounds the feature reaches, and lists them to be
-- drawn again. It lists no edge change: the merged shapes do not move.
CREATE OR REPLACE FUNCTION agrimap_forget_legible_overviews() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM 1 FROM agrimap_layer_version WHERE layer = TG_ARGV[0] FOR UPDATE;
  WITH gone AS (
    DELETE FROM tile_overviews
    WHERE layer = TG_ARGV[0] AND z >= 13 AND (bounds && OLD.geom OR bounds && NEW.geom)
    RETURNING layer, options, z, x, y)
  INSERT INTO tile_overviews_redraw SELECT * FROM gone ON CONFLICT DO NOTHING;
  RETURN NULL;
END $$;

CREATE OR REPLACE TRIGGER crop_overviews_fields AFTER UPDATE ON crop
  FOR EACH ROW WHEN (NOT (OLD.geom IS DISTINCT FROM NEW.geom OR OLD.crop_type IS DISTINCT FROM NEW.crop_type))
  EXECUTE FUNCTION agrimap_forget_legible_overviews('crop');

CREATE OR REPLACE TRIGGER aquaculture_overviews_fields AFTER UPDATE ON aquaculture
  FOR EACH ROW WHEN (NOT (OLD.geom IS DISTINCT FROM NEW.geom OR OLD.species IS DISTINCT FROM NEW.species
    OR OLD.mode IS DISTINCT FROM NEW.mode))
  EXECUTE FUNCTION agrimap_forget_legible_overviews('aquaculture');
