-- Load a user's licensed MedDRA ASCII release (MedAscii/*.asc) into meddra_* tables.
-- Variables: soc_file, pt_file, llt_file, hier_file (paths), encoding ('latin-1' for
-- English releases, 'utf-8' for others), folder (for provenance), version (or NULL).
-- Layout (no header, '$'-separated, a trailing '$'): docs/meddra-notes.md.
-- Runs inside one transaction; the previous release's tables are replaced whole.
DROP TABLE IF EXISTS meddra_soc;
DROP TABLE IF EXISTS meddra_pt;
DROP TABLE IF EXISTS meddra_llt;
DROP TABLE IF EXISTS meddra_hier;
DROP TABLE IF EXISTS meddra_terms;
DROP TABLE IF EXISTS meddra_info;

-- One row per System Organ Class.
CREATE TABLE meddra_soc AS
SELECT trim(soc_code) AS soc_code, trim(soc_name) AS soc_name, trim(soc_abbrev) AS soc_abbrev
FROM read_csv(getvariable('soc_file'), delim = '$', header = false, quote = '', escape = '', encoding = getvariable('encoding'),
              null_padding = true, all_varchar = true,
              columns = {'soc_code': 'VARCHAR', 'soc_name': 'VARCHAR', 'soc_abbrev': 'VARCHAR', 'l1': 'VARCHAR', 'l2': 'VARCHAR', 'l3': 'VARCHAR',
                         'l4': 'VARCHAR', 'l5': 'VARCHAR', 'l6': 'VARCHAR', 'l7': 'VARCHAR', 'tail': 'VARCHAR'});

-- One row per Preferred Term, with its primary SOC.
CREATE TABLE meddra_pt AS
SELECT trim(pt_code) AS pt_code, trim(pt_name) AS pt_name, trim(pt_soc_code) AS pt_soc_code
FROM read_csv(getvariable('pt_file'), delim = '$', header = false, quote = '', escape = '', encoding = getvariable('encoding'),
              null_padding = true, all_varchar = true,
              columns = {'pt_code': 'VARCHAR', 'pt_name': 'VARCHAR', 'null_field': 'VARCHAR', 'pt_soc_code': 'VARCHAR', 'l1': 'VARCHAR', 'l2': 'VARCHAR',
                         'l3': 'VARCHAR', 'l4': 'VARCHAR', 'l5': 'VARCHAR', 'l6': 'VARCHAR', 'l7': 'VARCHAR', 'tail': 'VARCHAR'});

-- One row per Lowest Level Term, with the PT it belongs to.
CREATE TABLE meddra_llt AS
SELECT trim(llt_code) AS llt_code, trim(llt_name) AS llt_name, trim(pt_code) AS pt_code, trim(llt_currency) AS llt_currency
FROM read_csv(getvariable('llt_file'), delim = '$', header = false, quote = '', escape = '', encoding = getvariable('encoding'),
              null_padding = true, all_varchar = true,
              columns = {'llt_code': 'VARCHAR', 'llt_name': 'VARCHAR', 'pt_code': 'VARCHAR', 'l1': 'VARCHAR', 'l2': 'VARCHAR', 'l3': 'VARCHAR',
                         'l4': 'VARCHAR', 'l5': 'VARCHAR', 'l6': 'VARCHAR', 'llt_currency': 'VARCHAR', 'llt_jart_code': 'VARCHAR', 'tail': 'VARCHAR'});

-- One row per PT x SOC path (MedDRA is multi-axial); primary_soc_fg = 'Y' marks the primary one.
CREATE TABLE meddra_hier AS
SELECT trim(pt_code) AS pt_code, trim(hlt_code) AS hlt_code, trim(hlgt_code) AS hlgt_code, trim(soc_code) AS soc_code,
       trim(pt_name) AS pt_name, trim(hlt_name) AS hlt_name, trim(hlgt_name) AS hlgt_name, trim(soc_name) AS soc_name,
       trim(pt_soc_code) AS pt_soc_code, trim(primary_soc_fg) AS primary_soc_fg
FROM read_csv(getvariable('hier_file'), delim = '$', header = false, quote = '', escape = '', encoding = getvariable('encoding'),
              null_padding = true, all_varchar = true,
              columns = {'pt_code': 'VARCHAR', 'hlt_code': 'VARCHAR', 'hlgt_code': 'VARCHAR', 'soc_code': 'VARCHAR', 'pt_name': 'VARCHAR',
                         'hlt_name': 'VARCHAR', 'hlgt_name': 'VARCHAR', 'soc_name': 'VARCHAR', 'soc_abbrev': 'VARCHAR', 'null_field': 'VARCHAR',
                         'pt_soc_code': 'VARCHAR', 'primary_soc_fg': 'VARCHAR', 'tail': 'VARCHAR'});

-- One row per term key (term_key, ingest/sql/shaping_macros.sql: the key reactions.reaction_pt
-- holds, so "Crohn's disease", "CROHN^S DISEASE" and "Crohn^s disease" are one term): every PT
-- name, and every LLT name that is not also a PT name, each with its own spelling (term_name),
-- its PT and the PT's primary SOC.
CREATE TABLE meddra_terms AS
WITH pt_soc AS (
    SELECT p.pt_code, p.pt_name, s.soc_name
    FROM meddra_pt AS p JOIN meddra_soc AS s ON s.soc_code = p.pt_soc_code
)
SELECT DISTINCT ON (term_key(pt_name)) term_key(pt_name) AS term, pt_name AS term_name, pt_name, soc_name, 'PT' AS matched_via FROM pt_soc
UNION ALL
SELECT DISTINCT ON (term_key(l.llt_name)) term_key(l.llt_name), l.llt_name, p.pt_name, p.soc_name, 'LLT'
FROM meddra_llt AS l JOIN pt_soc AS p USING (pt_code)
WHERE term_key(l.llt_name) NOT IN (SELECT term_key(pt_name) FROM meddra_pt)
ORDER BY 1;

CREATE TABLE meddra_info AS
SELECT getvariable('folder') AS folder, getvariable('version') AS version, now()::TIMESTAMP AS loaded_at,
       (SELECT count(*) FROM meddra_pt) AS pts, (SELECT count(*) FROM meddra_llt) AS llts, (SELECT count(*) FROM meddra_soc) AS socs;
