"""The official Wan T5 encoder file, loaded as a UMT5EncoderModel, against the official code.

The golden file comes from tools/parity/t5.py: a tiny official `T5Encoder` with random weights
(`sd.*`), padded ids and mask (`in.*`) and the rows the official `T5EncoderModel.__call__`
returns, trimmed to each prompt's length (`out.context.<i>`).
"""

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from kino.checkpoints.layout import T5_FILE
from kino.checkpoints.t5 import load_official_t5, save_official_t5
from kino.errors import CheckpointError

GOLDEN = Path(__file__).parents[1] / "data" / "official" / "t5.safetensors"
OFFICIAL_NAME = T5_FILE


@pytest.fixture(scope="module")
def golden() -> dict[str, torch.Tensor]:
    return load_file(GOLDEN)


@pytest.fixture
def official_state_dict(golden: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {
        key.removeprefix("sd."): value for key, value in golden.items() if key.startswith("sd.")
    }


@pytest.fixture
def official_file(official_state_dict: dict[str, torch.Tensor], tmp_path: Path) -> Path:
    path = tmp_path / OFFICIAL_NAME
    torch.save(official_state_dict, path)
    return path


def test_matches_the_official_encoder_on_real_tokens(
    golden: dict[str, torch.Tensor], official_file: Path
) -> None:
    model = load_official_t5(official_file)
    with torch.no_grad():
        output = model(input_ids=golden["in.ids"], attention_mask=golden["in.mask"])
    lengths = golden["in.mask"].sum(dim=1).tolist()
    for row, length in enumerate(lengths):
        expected = golden[f"out.context.{row}"]
        assert (output.last_hidden_state[row, :length] - expected).abs().max() < 1e-5


def test_sizes_are_read_from_the_tensor_shapes(official_file: Path) -> None:
    config = load_official_t5(official_file).config
    sizes = (config.vocab_size, config.d_model, config.d_kv, config.num_heads, config.d_ff)
    assert sizes == (256, 32, 8, 4, 64)
    assert (config.num_layers, config.relative_attention_num_buckets) == (2, 32)


def test_token_embedding_is_one_parameter_after_casting(official_file: Path) -> None:
    model = load_official_t5(official_file, dtype=torch.bfloat16)
    assert model.encoder.embed_tokens.weight is model.shared.weight
    assert model.shared.weight.dtype == torch.bfloat16


def test_save_official_restores_the_official_file(
    official_state_dict: dict[str, torch.Tensor], official_file: Path, tmp_path: Path
) -> None:
    path = tmp_path / "saved.pth"
    save_official_t5(load_official_t5(official_file), path)
    saved = torch.load(path, weights_only=True)
    assert saved.keys() == official_state_dict.keys()
    for key, value in official_state_dict.items():
        assert torch.equal(saved[key], value), key


@pytest.mark.parametrize("content", ["not a checkpoint", "missing block", "other model"])
def test_a_wrong_file_raises_checkpoint_error(
    content: str, official_state_dict: dict[str, torch.Tensor], tmp_path: Path
) -> None:
    path = tmp_path / OFFICIAL_NAME
    if content == "not a checkpoint":
        path.write_text("hello")
    elif content == "missing block":
        del official_state_dict["blocks.1.attn.q.weight"]
        torch.save(official_state_dict, path)
    else:
        torch.save({"visual.cls_embedding": torch.zeros(1, 1, 8)}, path)
    with pytest.raises(CheckpointError, match=OFFICIAL_NAME) as raised:
        load_official_t5(path)
    assert "\n" not in str(raised.value)
