"""The demo model: a synthetic video world, its detector, and tiny Wan weights trained on it.

Importing this package is cheap: the heavy parts live in submodules.
"""

from pathlib import Path

# The trained weights, a diffusers folder shared by the demo-t2v/i2v/flf2v tasks.
MODEL_DIR = Path(__file__).parent / "model"
