"""ST-SAE branch (concept learning on the PPG embedding cache, vascular ageing). No modules
yet: its issue builds them."""
