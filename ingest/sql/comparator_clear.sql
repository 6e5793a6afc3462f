-- comparator_clear: drop one source's cached background of one comparator before it is fetched
-- again (a new kratom release, or --refresh). Variables comparator_source, comparator_key.
DELETE FROM comparator_terms WHERE source = getvariable('comparator_source') AND comparator = getvariable('comparator_key');
DELETE FROM comparator_reports WHERE source = getvariable('comparator_source') AND comparator = getvariable('comparator_key');
DELETE FROM comparator_totals WHERE source = getvariable('comparator_source') AND comparator = getvariable('comparator_key');
