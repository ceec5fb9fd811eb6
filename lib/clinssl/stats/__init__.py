"""Statistics shared by every branch: metrics, bootstrap confidence intervals, probes, fairness."""
