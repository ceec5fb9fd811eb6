"""Rules of the event-sequence mortality branch. None yet: the branch's issue adds them and calls
``register_final_outputs("events", ...)``; until then ``branches.events: true`` stops with a clear error."""
