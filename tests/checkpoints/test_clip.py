"""The official Wan CLIP file, loaded as a CLIPVisionModel, against the official code.

The golden file comes from tools/parity/clip.py: a tiny official `VisionTransformer` (16 heads,
as in Wan's ViT-H/14) with random weights (`sd.visual.*`), two images with the normalisation
they get (`in.*`), and the official `visual(pixel_values, use_31_block=True)` (`out.features`).
"""

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from kino.checkpoints.clip import load_official_clip, save_official_clip
from kino.checkpoints.layout import CLIP_FILE
from kino.errors import CheckpointError

GOLDEN = Path(__file__).parents[1] / "data" / "official" / "clip.safetensors"
OFFICIAL_NAME = CLIP_FILE


@pytest.fixture(scope="module")
def golden() -> dict[str, torch.Tensor]:
    return load_file(GOLDEN)


@pytest.fixture
def visual_state_dict(golden: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {
        key.removeprefix("sd."): value for key, value in golden.items() if key.startswith("sd.")
    }


@pytest.fixture
def official_file(visual_state_dict: dict[str, torch.Tensor], tmp_path: Path) -> Path:
    # The official file also holds the text tower and the logit scale, which Wan never uses.
    unused = {"textual.head.0.weight": torch.ones(4, 4), "log_scale": torch.tensor(4.6052)}
    path = tmp_path / OFFICIAL_NAME
    torch.save(visual_state_dict | unused, path)
    return path


def pixel_values(golden: dict[str, torch.Tensor]) -> torch.Tensor:
    mean, std = golden["in.mean"][:, None, None], golden["in.std"][:, None, None]
    return (golden["in.images"].float() / 255 - mean) / std


def test_penultimate_hidden_states_match_the_official_31_block_output(
    golden: dict[str, torch.Tensor], official_file: Path
) -> None:
    model = load_official_clip(official_file)
    with torch.no_grad():
        output = model(pixel_values(golden), output_hidden_states=True)
    assert (output.hidden_states[-2] - golden["out.features"]).abs().max() < 1e-5


def test_sizes_are_read_from_the_tensor_shapes(official_file: Path) -> None:
    config = load_official_clip(official_file).config
    assert (config.hidden_size, config.intermediate_size, config.num_hidden_layers) == (32, 128, 3)
    assert (config.image_size, config.patch_size, config.num_attention_heads) == (224, 14, 16)


def test_save_official_restores_the_visual_tower_but_its_unused_head(
    visual_state_dict: dict[str, torch.Tensor], official_file: Path, tmp_path: Path
) -> None:
    path = tmp_path / "saved.pth"
    save_official_clip(load_official_clip(official_file), path)
    saved = torch.load(path, weights_only=True)
    expected = {key: value for key, value in visual_state_dict.items() if key != "visual.head"}
    assert saved.keys() == expected.keys()
    for key, value in expected.items():
        assert torch.equal(saved[key], value), key


@pytest.mark.parametrize("content", ["not a checkpoint", "missing block", "other model"])
def test_a_wrong_file_raises_checkpoint_error(
    content: str, visual_state_dict: dict[str, torch.Tensor], tmp_path: Path
) -> None:
    path = tmp_path / OFFICIAL_NAME
    if content == "not a checkpoint":
        path.write_text("hello")
    elif content == "missing block":
        del visual_state_dict["visual.transformer.1.attn.to_qkv.weight"]
        torch.save(visual_state_dict, path)
    else:
        torch.save({"token_embedding.weight": torch.zeros(8, 4)}, path)
    with pytest.raises(CheckpointError, match=OFFICIAL_NAME) as raised:
        load_official_clip(path)
    assert "\n" not in str(raised.value)
