-- _skin_curated: skin terms from the curated list queries/skin_terms.csv (used while no
-- MedDRA release is loaded). View skin_terms_csv: that file's rows, as text.
CREATE OR REPLACE TEMP TABLE curated_skin_terms AS
SELECT upper(trim(reaction_pt)) AS reaction_pt, lower(trim(is_pigmentation)) IN ('yes', 'true', '1') AS is_pigmentation
FROM skin_terms_csv;

CREATE OR REPLACE TEMP VIEW skin_terms AS
SELECT reaction_pt, is_pigmentation, 'curated list' AS skin_basis FROM curated_skin_terms;
