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
