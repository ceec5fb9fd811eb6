-- stays.parquet: one row per kept ICU stay; n_events counts its rows in events.parquet
-- (0 for a stay without events, which stays in the cohort).
SELECT
    s.stay_id,
    s.subject_id,
    s.hadm_id,
    s.intime,
    s.outtime,
    s.end_time,
    s.died,
    s.gender,
    s.age,
    s.race,
    s.marital_status,
    s.admission_type,
    s.admission_location,
    s.insurance,
    s.first_careunit,
    COALESCE(n.n_events, 0) AS n_events
FROM stay_candidates AS s
LEFT JOIN (
    SELECT stay_id, count(*) AS n_events FROM recent_events GROUP BY stay_id
) AS n ON n.stay_id = s.stay_id
WHERE s.reason IS NULL
ORDER BY s.stay_id
