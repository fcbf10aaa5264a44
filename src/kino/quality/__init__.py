"""Video quality metrics."""
