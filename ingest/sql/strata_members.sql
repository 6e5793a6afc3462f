-- strata_members: each kratom report in scope (scope_members, by report) with its stratum of
-- signal_strata (ingest/background.py STRATA), or NULL when it falls outside every stratum.
-- The same rule as the openFDA search of a stratum: patientsex 1 or 2, onset age in years
-- (unit 801) within the band's bounds, receivedate within the period. Needs the scope views
-- and signal_strata.
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
  ON r.source = s.source AND r.sex = s.sex AND r.age_unit_reported = 'year'
 AND TRY_CAST(r.age_reported AS DOUBLE) BETWEEN s.age_low AND s.age_high
 AND CAST(strftime(r.received_date, '%Y%m%d') AS INTEGER) BETWEEN s.first_date AND s.last_date;
