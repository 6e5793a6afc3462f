-- _skin_curated: skin terms from the curated list queries/skin_terms.csv (used while no
-- MedDRA release is loaded). Variable skin_terms_file: that file's path.
CREATE OR REPLACE TEMP TABLE curated_skin_terms AS
SELECT upper(trim(reaction_pt)) AS reaction_pt, lower(trim(is_pigmentation)) IN ('yes', 'true', '1') AS is_pigmentation
FROM read_csv(getvariable('skin_terms_file'), header = true, all_varchar = true);

CREATE OR REPLACE TEMP VIEW skin_terms AS
SELECT reaction_pt, is_pigmentation, 'curated list' AS skin_basis FROM curated_skin_terms;
