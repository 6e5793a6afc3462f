-- background_clear: drop one source's cached background before it is fetched again.
-- Variable background_source.
DELETE FROM background_terms WHERE source = getvariable('background_source');
DELETE FROM background_totals WHERE source = getvariable('background_source');
