"""Rules of the ECG branch (PTB-XL SimCLR / BYOL). None yet: the branch's issue adds them and calls
``register_final_outputs("ecg", ...)``; until then ``branches.ecg: true`` stops with a clear error."""
