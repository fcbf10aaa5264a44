"""An S3 endpoint for tests: moto's standalone server on loopback, one per session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


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
