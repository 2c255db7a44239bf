-- agrimap schema version 23: a split no longer carries its feature's
-- boundary_set among its classes, and the kept totals no longer count by
-- it (agrimap_store::splits::totals_fields). A recode changes every
-- feature's boundary_set, so each split's classes, and every total, were
-- rewritten with it: two thirds of the time of a recode.
--
-- The stored splits lose the key without moving the totals (the trigger
-- that lists their changes is off meanwhile, in this transaction), and the
-- totals by it go. A province of millions of parcels has millions of
-- splits to rewrite: longer than any query may run.
SET LOCAL statement_timeout = 0;
ALTER TABLE agrimap_feature_splits DISABLE TRIGGER agrimap_split_totals_updated;
UPDATE agrimap_feature_splits SET classes = classes - 'boundary_set' WHERE classes ? 'boundary_set';
ALTER TABLE agrimap_feature_splits ENABLE TRIGGER agrimap_split_totals_updated;
DELETE FROM agrimap_split_totals WHERE class_field = 'boundary_set';
DELETE FROM agrimap_split_deltas WHERE class_field = 'boundary_set';
