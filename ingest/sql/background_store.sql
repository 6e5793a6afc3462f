-- background_store: of one partition's records, shaped by ingest/staging.py as a fetched page
-- is (its staged Parquet files), the columns the local background counts, into the partition's
-- folder of the background store (ingest/bulk_background.py; docs/schema.md "The local
-- background"). Every record is kept, every version of a report too: the count queries keep the
-- latest (queries/_local_background.sql), since a report's versions may lie in two partitions.
-- part_seq and record_seq (the partition's number in the export, the record's place in it)
-- order the records as received, as stage_seq does in a fetch.
-- Variables: staged_reports, staged_reactions, staged_ingredients, staged_case_facts (lists of
-- the staged files), part_seq, out_folder.

-- One row per record: the columns of `reports` that the background stratifies or filters by,
-- and those the case rules compare (case_pairs.sql), with the sets the rules compare as the
-- digests staging made of them.
COPY (
    SELECT getvariable('part_seq')::INTEGER AS part_seq, r.stage_seq AS record_seq,
           r.source, r.report_id, r.report_version, r.received_date,
           r.sex, r.age_years, r.age_decade, r.age_reported, r.age_unit_reported, r.country_code, r.country_name,
           r.is_serious, r.serious_death, r.serious_life_threatening, r.serious_hospitalization,
           r.serious_disabling, r.serious_congenital_anomaly, r.serious_other, r.outcomes,
           r.is_kratom_report, r.is_kratom_suspect_report,
           r.event_date, r.event_date_reported, r.company_number, r.duplicate_number, r.literature_reference,
           f.drug_set_digest, f.reaction_set_digest, f.start_dates_digest, f.indications_digest
    FROM read_parquet(getvariable('staged_reports')) AS r
    LEFT JOIN read_parquet(getvariable('staged_case_facts')) AS f USING (stage_seq)
    ORDER BY r.stage_seq
) TO (getvariable('out_folder') || '/reports.parquet') (FORMAT parquet, COMPRESSION zstd);

-- One row per record and term key (a term named twice, in any spelling, once).
COPY (
    SELECT getvariable('part_seq')::INTEGER AS part_seq, stage_seq AS record_seq, reaction_pt
    FROM read_parquet(getvariable('staged_reactions'))
    WHERE is_first_mention
    ORDER BY stage_seq, reaction_pt
) TO (getvariable('out_folder') || '/reactions.parquet') (FORMAT parquet, COMPRESSION zstd);

-- One row per record, ingredient and is_kratom (product_ingredients' first mentions): whether
-- any product with it is kratom or not, and whether one of those is suspect or interacting.
COPY (
    SELECT getvariable('part_seq')::INTEGER AS part_seq, stage_seq AS record_seq, ingredient, is_kratom, named_as_suspect
    FROM read_parquet(getvariable('staged_ingredients'))
    WHERE is_first_mention
    ORDER BY stage_seq, ingredient, is_kratom
) TO (getvariable('out_folder') || '/ingredients.parquet') (FORMAT parquet, COMPRESSION zstd);
