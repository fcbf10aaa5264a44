"""Shared fixtures: tiny checkpoints of every task in both layouts (built once per session), the
demo-architecture model, the databases and an S3 endpoint."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

# As kino.training.run does: the tokenizers library's idle worker threads slow torch down badly
# on a 2-core machine once a tokenizer has been trained in the process.
os.environ["TOKENIZERS_PARALLELISM"] = "false"


@dataclass(frozen=True)
class TinyCheckpoints:
    official: Path
    diffusers: Path


@pytest.fixture(scope="session")
def tiny_checkpoints(
    tmp_path_factory: pytest.TempPathFactory,
) -> Callable[[str], TinyCheckpoints]:
    """tiny_checkpoints(task) → the same random weights saved in the official and the
    diffusers layout."""
    from kino.checkpoints.tiny import build_tiny_components, save_diffusers, save_official
    from kino.tasks import get_task

    built: dict[str, TinyCheckpoints] = {}

    def build(task: str) -> TinyCheckpoints:
        if task not in built:
            preset = get_task(task)
            components = build_tiny_components(preset, seed=0)
            root = tmp_path_factory.mktemp(task)
            built[task] = TinyCheckpoints(
                official=save_official(components, preset, root / "official"),
                diffusers=save_diffusers(components, preset, root / "diffusers"),
            )
        return built[task]

    return build


@pytest.fixture(scope="session")
def demo_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo architecture with untrained weights, exported as `kino train` exports it."""
    import numpy as np
    import torch

    from kino.demo import architecture
    from kino.demo.captions import vocabulary_corpus
    from kino.demo.tokenizer import train_tokenizer
    from kino.training.config import TrainConfig
    from kino.training.export import export_model
    from kino.training.vae_stage import set_latent_statistics

    torch.manual_seed(0)
    tokenizer = train_tokenizer(vocabulary_corpus(np.random.default_rng(0), 500), 300)
    vae = architecture.build_vae()
    set_latent_statistics(vae, torch.randn(4, 16, 5, 16, 16))
    t2v = architecture.build_transformer(TrainConfig.dit_heads)
    out = tmp_path_factory.mktemp("demo") / "model"
    export_model(
        out,
        vae,
        architecture.build_text_encoder(len(tokenizer)),
        tokenizer,
        t2v,
        architecture.widen_to_i2v(t2v),
    )
    return out


@pytest.fixture(scope="session", name="s3_endpoint")
def moto_s3_endpoint() -> Iterator[str]:
    """URL of an in-process moto server (http://127.0.0.1:PORT). Fake credentials go into the
    environment for the session, so boto3's default chain finds them and nothing can reach AWS.
    Buckets live as long as the server: give each test its own."""
    from moto.server import ThreadedMotoServer

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_ACCESS_KEY_ID", "testing")
        patch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        patch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        patch.delenv("AWS_PROFILE", raising=False)
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        try:
            host, port = server.get_host_and_port()
            yield f"http://{host}:{port}"
        finally:
            server.stop()


POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'kino.db'}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh schema in the local PostgreSQL's `test` database, dropped afterwards."""
    import psycopg

    schema = f"kino_test_{os.getpid()}_{time.monotonic_ns()}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    # synchronous_commit off: a test's commits need not wait for the disk (it is thrown away).
    yield f"{POSTGRES_ADMIN_URL}?options=-csearch_path%3D{schema}%20-csynchronous_commit%3Doff"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as connection:
        connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    return request.getfixturevalue(f"{request.param}_url")
