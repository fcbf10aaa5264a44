"""`kino serve`, `kino worker` and `kino keys` as a user runs them: real processes, a real port."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from kino.media import read_mp4


def kino(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kino.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def test_keys_create_list_revoke(tmp_path: Path) -> None:
    database = ["--database_url", f"sqlite:///{tmp_path / 'kino.db'}"]
    created = kino("keys", "create", "ci bot", "--admin", *database)
    assert created.returncode == 0, created.stderr
    key_id, secret = created.stdout.split()[0], created.stdout.splitlines()[1]
    assert key_id.startswith("key_") and secret.startswith("kino_")
    listed = json.loads(kino("keys", "list", "--json", *database).stdout)
    assert [(k["id"], k["name"], k["admin"], k["revoked_at"]) for k in listed] == [
        (key_id, "ci bot", True, None)
    ]
    assert secret not in kino("keys", "list", *database).stdout
    assert kino("keys", "revoke", key_id, *database).returncode == 0
    assert json.loads(kino("keys", "list", "--json", *database).stdout)[0]["revoked_at"]
    missing = kino("keys", "revoke", "key_nope", *database)
    assert missing.returncode != 0
    assert missing.stderr.strip().count("\n") == 0 and "kino keys list" in missing.stderr


def test_a_bad_database_url_is_one_line_and_a_nonzero_exit(tmp_path: Path) -> None:
    result = kino("keys", "list", "--database_url", "mysql://user@host/db")
    assert result.returncode == 4
    assert result.stderr.count("\n") == 1 and "sqlite or postgresql" in result.stderr


def test_the_api_process_does_not_import_torch() -> None:
    code = (
        "import sys, kino.service.app, kino.cli.serve; "
        "print('torch' in sys.modules, 'diffusers' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.split() == ["False", "False"], result.stderr


def test_serve_with_a_worker_runs_a_job_end_to_end(demo_model: Path, tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {key: value for key, value in os.environ.items() if not key.startswith("KINO_")}
    env["KINO_MODELS"] = json.dumps(
        {"kino-demo": {"path": str(demo_model), "tasks": ["demo-t2v", "demo-i2v", "demo-flf2v"]}}
    )
    env["KINO_DEVICE"] = "cpu"
    log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "kino.cli.main", "serve", "--workers", "1", "--no_auth",
         "--port", str(port), "--data_dir", str(tmp_path / "data")],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/readyz").status_code == 200:
                    break
            except httpx.ConnectError:
                pass
            assert time.monotonic() < deadline and server.poll() is None, "serve did not start"
            time.sleep(0.2)
        models = httpx.get(f"{base}/v1/models").json()["data"]
        assert models[0]["id"] == "kino-demo"
        job = httpx.post(
            f"{base}/v1/videos",
            json={"prompt": "a white circle stays still at night", "num_frames": 5, "steps": 2},
        ).json()
        while job["status"] not in ("completed", "failed"):
            assert time.monotonic() < deadline + 120, job
            time.sleep(0.2)
            job = httpx.get(f"{base}/v1/videos/{job['id']}").json()
        assert job["status"] == "completed", job
        content = httpx.get(f"{base}/v1/videos/{job['id']}/content")
        (tmp_path / "out.mp4").write_bytes(content.content)
        assert read_mp4(tmp_path / "out.mp4").num_frames == 5
        assert (tmp_path / "data" / "kino.db").exists()
        assert (tmp_path / "data" / "storage" / "videos" / job["id"] / "video.mp4").exists()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=90)
        log.close()
    output = (tmp_path / "serve.log").read_text()
    assert server.returncode == 0, output
    assert "stopped after 1 jobs" in output


def test_a_bad_models_setting_is_one_line_and_exit_4(tmp_path: Path) -> None:
    database = ["--database_url", f"sqlite:///{tmp_path / 'kino.db'}"]
    for models in ('{"broken', '{"m": {"path": "/x", "tasks": ["t2v-99B"]}}'):
        env = {**os.environ, "KINO_MODELS": models}
        result = kino("keys", "list", *database, env=env)
        assert result.returncode == 4 and result.stderr.count("\n") == 1, result.stderr
        assert "KINO_MODELS" in result.stderr or "models" in result.stderr
