-- events.parquet: the limited event sequences in chronological order.
SELECT stay_id, subject_id, event_time, event_type, event_text, minutes_to_end
FROM recent_events
ORDER BY stay_id, event_time, event_type, event_text
