-- agrimap schema version 22: the special zone (đặc khu), a commune-level
-- unit the 1 July 2025 reorganisation made (Phú Quốc, Côn Đảo, Lý Sơn and
-- ten more), is a kind of commune.
ALTER TABLE admin_commune DROP CONSTRAINT IF EXISTS admin_commune_kind_check;
ALTER TABLE admin_commune ADD CONSTRAINT admin_commune_kind_check
  CHECK (kind IN ('xa', 'phuong', 'thi_tran', 'dac_khu'));
