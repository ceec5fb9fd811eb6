"""Rules of the ST-SAE branch (concepts on the PPG embedding cache). None yet: the branch's issue adds them and calls
``register_final_outputs("stsae", ...)``; until then ``branches.stsae: true`` stops with a clear error."""
