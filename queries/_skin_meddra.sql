-- _skin_meddra: skin terms from the user's loaded MedDRA release: every term whose primary
-- SOC is "Skin and subcutaneous tissue disorders", by term key. Pigmentation terms are still
-- those marked in queries/skin_terms.csv. View skin_terms_csv: that file's rows, as text.
CREATE OR REPLACE TEMP TABLE curated_skin_terms AS
SELECT term_key(reaction_pt) AS reaction_pt, lower(trim(is_pigmentation)) IN ('yes', 'true', '1') AS is_pigmentation,
       nullif(lower(trim(pigmentation)), '') AS pigmentation  -- hyper, hypo, or empty (not a pigmentation term, or no direction)
FROM skin_terms_csv;

CREATE OR REPLACE TEMP VIEW skin_terms AS
SELECT m.term AS reaction_pt, coalesce(c.is_pigmentation, false) AS is_pigmentation, 'MedDRA primary SOC' AS skin_basis, c.pigmentation
FROM meddra_terms AS m
LEFT JOIN curated_skin_terms AS c ON c.reaction_pt = m.term
WHERE m.soc_name = 'Skin and subcutaneous tissue disorders';

-- How a term key is shown: in the loaded MedDRA's own spelling ("Skin hyperpigmentation",
-- "Crohn's disease"); a term MedDRA does not know keeps its key.
CREATE OR REPLACE TEMP VIEW term_labels AS
SELECT term AS reaction_pt, term_name AS label FROM meddra_terms;

-- Each term key's primary SOC in the loaded release (the cases command's --soc).
CREATE OR REPLACE TEMP VIEW term_socs AS
SELECT term, soc_name FROM meddra_terms;
