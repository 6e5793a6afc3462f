-- strata_members: each kratom report in scope (scope_members, by report) with its stratum of
-- signal_strata (ingest/background.py STRATA), or NULL when it falls outside every stratum.
-- The rule of strata_rule.sql (in_stratum), openFDA's for the search of a stratum. Needs the
-- scope views, signal_strata and strata_rule.sql's macro.
CREATE OR REPLACE TEMP VIEW strata_members AS
SELECT m.report_key, r.source, s.stratum,
       -- coalesce: a sex or age unit not reported (NULL) is outside, not unknown to the counts.
       coalesce(r.sex IN ('male', 'female'), false) AS has_sex,
       coalesce(r.age_unit_reported = 'year' AND TRY_CAST(r.age_reported AS DOUBLE) IS NOT NULL
           AND EXISTS (SELECT 1 FROM signal_strata AS b WHERE TRY_CAST(r.age_reported AS DOUBLE) BETWEEN b.age_low AND b.age_high), false) AS has_age,
       r.received_date IS NOT NULL
           AND EXISTS (SELECT 1 FROM signal_strata AS p WHERE CAST(strftime(r.received_date, '%Y%m%d') AS INTEGER) BETWEEN p.first_date AND p.last_date) AS has_date
FROM scope_members AS m
JOIN reports AS r USING (report_key)
LEFT JOIN signal_strata AS s
  ON r.source = s.source
 AND in_stratum(r.sex, r.age_unit_reported, r.age_reported, r.received_date, s.sex, s.age_low, s.age_high, s.first_date, s.last_date);
