-- agrimap schema version 21: leases, so that of several servers over one
-- database one does a job that needs doing once (keeping the province's
-- tiles ahead at start), and another takes it up if that one stops.
CREATE TABLE IF NOT EXISTS agrimap_leases (
  name text PRIMARY KEY,
  holder text NOT NULL,
  until timestamptz NOT NULL
);
