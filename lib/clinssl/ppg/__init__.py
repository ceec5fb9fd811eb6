"""PPG branch: PulseDB / MIMIC waveform windows, HiMAE pretraining, the PVC probe and the
frozen-encoder embedding cache that ST-SAE reads."""
