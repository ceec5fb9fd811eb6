"""Neural-network pieces shared by branches: layers, SSL building blocks, task heads."""
