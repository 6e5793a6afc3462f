-- strata_outside: per source with strata, the kratom reports in scope outside every stratum,
-- and why (a report may miss several), beside the background's reports inside the strata.
SELECT m.source, count(*) AS kratom_reports_in_scope,
       count(*) FILTER (WHERE m.stratum IS NULL) AS kratom_reports_outside_strata,
       count(*) FILTER (WHERE NOT m.has_sex) AS no_sex,
       count(*) FILTER (WHERE NOT m.has_age) AS no_age_in_years,
       count(*) FILTER (WHERE NOT m.has_date) AS no_report_date,
       (SELECT sum(total_reports)::BIGINT FROM stratum_totals AS t WHERE t.source = m.source) AS background_reports_in_strata,
       (SELECT count(*) FROM signal_strata AS s WHERE s.source = m.source) AS strata,
       (SELECT count(DISTINCT stratum) FROM strata_members AS x WHERE x.source = m.source AND x.stratum IS NOT NULL) AS strata_with_kratom_reports
FROM strata_members AS m
WHERE m.source IN (SELECT source FROM signal_strata)
GROUP BY m.source
ORDER BY m.source;
