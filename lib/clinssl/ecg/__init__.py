"""ECG branch: 12-lead PTB-XL, SimCLR / BYOL on a 1-D CNN, label-efficient evaluation."""
