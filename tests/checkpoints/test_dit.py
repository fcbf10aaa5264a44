"""Official Wan DiT folders, loaded as WanTransformer3DModel, against the official code.

The golden files come from tools/parity/dit.py: tiny official `WanModel`s of every type with
random weights (`sd.*`, bf16-representable), the inputs of one forward (`in.*`), its output
(`out.x`), the config.json and the sharded index the official `save_pretrained` wrote (metadata).
Tensors 1280 wide are stored as low-rank factors (`lowrank.<name>.u/.v`).
"""

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest
import torch
from diffusers import WanTransformer3DModel
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from kino.checkpoints.dit import INDEX_NAME, WEIGHTS_NAME, load_official_dit, save_official_dit
from kino.engine.time_embedding import use_official_time_embedding
from kino.errors import CheckpointError

GOLDENS = sorted((Path(__file__).parents[1] / "data" / "official").glob("dit_*.safetensors"))
TEXT_LEN = 512


@dataclass(frozen=True)
class Golden:
    state_dict: dict[str, torch.Tensor]  # official keys, fp32
    inputs: dict[str, torch.Tensor]
    output: torch.Tensor
    config_json: str
    index_json: str
    max_shard_bytes: int

    @property
    def model_type(self) -> str:
        return json.loads(self.config_json)["model_type"]


@cache
def read_golden(path: Path) -> Golden:
    with safe_open(path, framework="pt") as f:
        metadata = f.metadata()
    tensors = load_file(path)
    for key in [k for k in tensors if k.startswith("lowrank.") and k.endswith(".u")]:
        name = key.removeprefix("lowrank.").removesuffix(".u")
        v = tensors[f"lowrank.{name}.v"]
        tensors[name] = (tensors[key].double() @ v.double()).float()
    return Golden(
        state_dict={k.removeprefix("sd."): t.float() for k, t in tensors.items() if k[:3] == "sd."},
        inputs={k.removeprefix("in."): t for k, t in tensors.items() if k.startswith("in.")},
        output=tensors["out.x"],
        config_json=metadata["config.json"],
        index_json=metadata["index.json"],
        max_shard_bytes=int(metadata["max_shard_bytes"]),
    )


def write_official_folder(golden: Golden, folder: Path, sharded: bool) -> Path:
    """The folder the official save_pretrained writes: one file, or shards and an index."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(golden.config_json)
    if not sharded:
        save_file(golden.state_dict, folder / WEIGHTS_NAME, metadata={"format": "pt"})
        return folder
    weight_map = json.loads(golden.index_json)["weight_map"]
    for filename in set(weight_map.values()):
        shard = {k: t for k, t in golden.state_dict.items() if weight_map[k] == filename}
        save_file(shard, folder / filename, metadata={"format": "pt"})
    (folder / INDEX_NAME).write_text(golden.index_json)
    return folder


def forward(model: WanTransformer3DModel, golden: Golden) -> torch.Tensor:
    """The official forward's inputs in diffusers' form: batched, text zero-padded to 512."""
    inputs = golden.inputs
    x = inputs["x"] if "y" not in inputs else torch.cat([inputs["x"], inputs["y"]])
    context = torch.zeros(1, TEXT_LEN, inputs["context"].shape[1])
    context[0, : len(inputs["context"])] = inputs["context"]
    with torch.no_grad():
        out = model(
            hidden_states=x[None],
            timestep=inputs["t"],
            encoder_hidden_states=context,
            encoder_hidden_states_image=inputs.get("clip_fea"),
            return_dict=False,
        )[0]
    return out[0]


def ids(paths: list[Path]) -> list[str]:
    return [p.stem.removeprefix("dit_") for p in paths]


@pytest.mark.parametrize("sharded", [False, True], ids=["single", "sharded"])
@pytest.mark.parametrize("path", GOLDENS, ids=ids(GOLDENS))
def test_matches_the_official_forward(path: Path, sharded: bool, tmp_path: Path) -> None:
    # diffusers computes the timestep sinusoid in float32 (phase error ~6e-5 at t=999) and
    # keeps float32 rope tables; the official code uses float64 for both.
    golden = read_golden(path)
    model = load_official_dit(write_official_folder(golden, tmp_path, sharded))
    assert (forward(model, golden) - golden.output).abs().max() < 5e-5


@pytest.mark.parametrize("path", GOLDENS, ids=ids(GOLDENS))
def test_matches_the_official_forward_given_its_float64_timestep_embedding(
    path: Path, tmp_path: Path
) -> None:
    golden = read_golden(path)
    model = load_official_dit(write_official_folder(golden, tmp_path, sharded=False))
    use_official_time_embedding(model)
    assert (forward(model, golden) - golden.output).abs().max() < 1e-5


@pytest.mark.parametrize("path", GOLDENS, ids=ids(GOLDENS))
def test_saving_writes_what_the_official_save_pretrained_writes(path: Path, tmp_path: Path) -> None:
    golden = read_golden(path)
    model = load_official_dit(write_official_folder(golden, tmp_path / "in", sharded=False))
    out = tmp_path / "out"
    save_official_dit(model, out, golden.model_type, max_shard_bytes=golden.max_shard_bytes)

    assert (out / INDEX_NAME).read_text() == golden.index_json
    config, expected = json.loads((out / "config.json").read_text()), json.loads(golden.config_json)
    config.pop("_diffusers_version"), expected.pop("_diffusers_version")
    assert config == expected
    saved = {}
    for filename in set(json.loads(golden.index_json)["weight_map"].values()):
        with safe_open(out / filename, framework="pt") as f:
            assert f.metadata() == {"format": "pt"}
        saved |= load_file(out / filename)
    assert saved.keys() == golden.state_dict.keys()
    assert all(torch.equal(saved[k], golden.state_dict[k]) for k in saved)


def test_small_models_are_saved_unsharded(tmp_path: Path) -> None:
    golden = read_golden(GOLDENS[0])
    model = load_official_dit(write_official_folder(golden, tmp_path / "in", sharded=False))
    save_official_dit(model, tmp_path / "out", golden.model_type)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["config.json", WEIGHTS_NAME]


@pytest.mark.parametrize(
    ("name", "image_dim", "pos_embed_seq_len"),
    [
        ("wan21_t2v", None, None),
        ("wan21_i2v", 1280, None),
        ("wan21_flf2v", 1280, 514),
        ("wan22_i2v", None, None),
        ("wan22_ti2v", None, None),
    ],
)
def test_weights_decide_what_config_json_leaves_out(
    name: str, image_dim: int | None, pos_embed_seq_len: int | None, tmp_path: Path
) -> None:
    golden = read_golden(next(p for p in GOLDENS if p.stem == f"dit_{name}"))
    config = load_official_dit(write_official_folder(golden, tmp_path, sharded=False)).config
    assert (config.image_dim, config.pos_embed_seq_len) == (image_dim, pos_embed_seq_len)
    assert config.added_kv_proj_dim == (32 if image_dim else None)
    assert (config.text_dim, tuple(config.patch_size)) == (32, (1, 2, 2))


def test_half_precision_keeps_modulation_and_norms_in_float32(tmp_path: Path) -> None:
    golden = read_golden(GOLDENS[0])
    folder = write_official_folder(golden, tmp_path, sharded=False)
    model = load_official_dit(folder, dtype=torch.bfloat16)
    assert model.proj_out.weight.dtype == torch.bfloat16
    assert model.blocks[0].attn1.to_q.weight.dtype == torch.bfloat16
    assert model.scale_shift_table.dtype == torch.float32
    assert model.blocks[0].norm2.weight.dtype == torch.float32
    assert model.condition_embedder.time_embedder.linear_1.weight.dtype == torch.float32


def test_a_missing_config_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match=str(tmp_path / "config.json")):
        load_official_dit(tmp_path)


def test_an_a14b_root_points_at_its_experts(tmp_path: Path) -> None:
    (tmp_path / "high_noise_model").mkdir()
    with pytest.raises(CheckpointError, match="high_noise_model/ and low_noise_model/"):
        load_official_dit(tmp_path)


def test_a_missing_shard_names_the_shard(tmp_path: Path) -> None:
    folder = write_official_folder(read_golden(GOLDENS[0]), tmp_path, sharded=True)
    shard = sorted(folder.glob("diffusion_pytorch_model-*.safetensors"))[-1]
    shard.unlink()
    with pytest.raises(CheckpointError, match=shard.name):
        load_official_dit(folder)


def test_weights_of_another_model_are_refused(tmp_path: Path) -> None:
    golden = read_golden(GOLDENS[0])
    config = json.loads(golden.config_json) | {"num_layers": 3}
    folder = write_official_folder(golden, tmp_path, sharded=False)
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match=r"missing: blocks\.2\."):
        load_official_dit(folder)


def test_a_corrupt_weights_file_names_the_file(tmp_path: Path) -> None:
    folder = write_official_folder(read_golden(GOLDENS[0]), tmp_path, sharded=False)
    (folder / WEIGHTS_NAME).write_bytes(b"not safetensors")
    with pytest.raises(CheckpointError, match=WEIGHTS_NAME):
        load_official_dit(folder)
