-- strata_clear: drop one source's cached strata before they are fetched again. Variable strata_source.
DELETE FROM stratum_terms WHERE source = getvariable('strata_source');
DELETE FROM stratum_totals WHERE source = getvariable('strata_source');
