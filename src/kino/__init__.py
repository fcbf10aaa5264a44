"""kino: run Wan2.1 and Wan2.2 video diffusion models."""

__version__ = "0.1.0"
