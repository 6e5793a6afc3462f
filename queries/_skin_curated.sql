-- _skin_curated: skin terms from the curated list queries/skin_terms.csv (used while no
-- MedDRA release is loaded), by term key. View skin_terms_csv: that file's rows, as text.
CREATE OR REPLACE TEMP TABLE curated_skin_terms AS
SELECT term_key(reaction_pt) AS reaction_pt, lower(trim(is_pigmentation)) IN ('yes', 'true', '1') AS is_pigmentation,
       nullif(lower(trim(pigmentation)), '') AS pigmentation  -- hyper, hypo, or empty (not a pigmentation term, or no direction)
FROM skin_terms_csv;

CREATE OR REPLACE TEMP VIEW skin_terms AS
SELECT reaction_pt, is_pigmentation, 'curated list' AS skin_basis, pigmentation FROM curated_skin_terms;

-- How a term key is shown: without MedDRA, as the key itself (upper case, as openFDA's count=
-- spells terms). Tables join this and show coalesce(label, reaction_pt).
CREATE OR REPLACE TEMP VIEW term_labels AS
SELECT NULL::VARCHAR AS reaction_pt, NULL::VARCHAR AS label WHERE false;

-- No MedDRA release: no term has a SOC (the cases command refuses --soc).
CREATE OR REPLACE TEMP VIEW term_socs AS
SELECT NULL::VARCHAR AS term, NULL::VARCHAR AS soc_name WHERE false;
