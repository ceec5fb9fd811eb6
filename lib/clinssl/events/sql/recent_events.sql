-- The kept events of each stay, limited to its most recent extract_params.max_events (NULL:
-- no limit). Ties are broken by event_type then event_text, descending, so the kept events
-- are exactly the last N rows of the stay in the output order (stay_id, event_time,
-- event_type, event_text); fully identical rows are interchangeable, so the result does not
-- depend on scan order.
CREATE TABLE recent_events AS
SELECT e.stay_id, e.subject_id, e.event_time, e.event_type, e.event_text, e.minutes_to_end
FROM event_candidates AS e
CROSS JOIN extract_params AS p
WHERE e.reason IS NULL
QUALIFY p.max_events IS NULL
    OR row_number() OVER (
        PARTITION BY e.stay_id
        ORDER BY e.event_time DESC, e.event_type DESC, e.event_text DESC
    ) <= p.max_events
