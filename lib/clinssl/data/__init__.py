"""Tensors, windows, masks, splits and quality control shared by the branches."""
