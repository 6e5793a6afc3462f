-- Views for your own queries from plain DuckDB, pandas or R (made by every fetch): the same
-- names as queries/_scope.sql's, with no filter, which is what `kratom-ae sql` shows. Inside
-- kratom-ae, _scope.sql's temporary views of the same names (filtered) take their place.
-- They read no session variable, so they work in any DuckDB client.

-- Every kratom report (at least one product matched as kratom, in any role).
CREATE OR REPLACE VIEW scope_reports AS
SELECT r.*
FROM reports AS r
WHERE r.is_kratom_report;

-- One row per kratom report and MedDRA term, once per report (join to scope_reports by report_key).
CREATE OR REPLACE VIEW scope_reactions AS
SELECT x.source, x.report_key, x.reaction_pt
FROM reactions AS x
SEMI JOIN (SELECT report_key FROM reports WHERE is_kratom_report) AS r USING (report_key)
WHERE x.is_first_mention;

-- The number of kratom reports: the denominator of every percentage with no filter.
CREATE OR REPLACE VIEW scope_total AS
SELECT count(*) AS reports FROM reports WHERE is_kratom_report;
