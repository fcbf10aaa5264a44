"""API keys, limits and bad input over real HTTP: every refusal is a 4xx with a JSON code."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from harness import SMALL, running_service
from PIL import Image

PROMPT = "a blue square moves up in daylight"


def png(width: int, height: int) -> bytes:
    data = io.BytesIO()
    Image.new("RGB", (width, height), (200, 40, 40)).save(data, format="PNG")
    return data.getvalue()


def bomb_png(width: int, height: int) -> bytes:
    """A PNG whose header claims width×height pixels, with almost no data behind it."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = zlib.compress(b"\x00" * 64)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")
    )


def error_code(response) -> str:
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    body = response.json()
    assert set(body["error"]) == {"code", "message"} and body["error"]["message"]
    return body["error"]["code"]


def test_no_key_or_a_bad_key_is_401(sqlite_url, settings_for):
    with running_service(settings_for(sqlite_url)) as service:
        with service.client() as anonymous:
            response = anonymous.post("/v1/videos", json={"prompt": PROMPT})
            assert response.status_code == 401 and error_code(response) == "missing_api_key"
            assert anonymous.get("/v1/videos").status_code == 401
        with service.client("kino_not-a-key") as wrong:
            assert error_code(wrong.get("/v1/videos")) == "invalid_api_key"
        key_id = service.deployment.keys.list()[0].id
        secret = service.new_key("soon revoked")
        revoked_id = next(k.id for k in service.deployment.keys.list() if k.id != key_id)
        service.deployment.keys.revoke(revoked_id)
        with service.client(secret) as revoked:
            assert revoked.get("/v1/videos").status_code == 401


def test_a_key_cannot_see_touch_or_download_another_keys_job(database_url, settings_for):
    with running_service(settings_for(database_url)) as service:
        a, b = service.new_key("a"), service.new_key("b")
        with service.client(a) as alice, service.client(b) as bob:
            job = alice.post("/v1/videos", json={"prompt": PROMPT, **SMALL}).json()
            for method, path in (
                ("GET", f"/v1/videos/{job['id']}"),
                ("POST", f"/v1/videos/{job['id']}/cancel"),
                ("GET", f"/v1/videos/{job['id']}/content"),
                ("GET", f"/v1/videos/{job['id']}/events"),
                ("DELETE", f"/v1/videos/{job['id']}"),
            ):
                response = bob.request(method, path)
                assert response.status_code == 404 and error_code(response) == "not_found"
            assert bob.get("/v1/videos").json()["data"] == []
            assert alice.get(f"/v1/videos/{job['id']}").json()["status"] == "queued"
        with service.client(service.admin_key) as admin:
            assert admin.get(f"/v1/videos/{job['id']}").status_code == 200


def test_admin_endpoints_need_the_admin_scope(sqlite_url, settings_for):
    with running_service(settings_for(sqlite_url)) as service:
        with service.client(service.new_key("user")) as user:
            response = user.post("/v1/keys", json={"name": "x"})
            assert response.status_code == 403 and error_code(response) == "forbidden"
        with service.client(service.admin_key) as admin:
            created = admin.post("/v1/keys", json={"name": "ci", "max_queued": 1})
            assert created.status_code == 201 and created.json()["secret"].startswith("kino_")
            with service.client(created.json()["secret"]) as ci:
                assert ci.get("/v1/videos").status_code == 200
            admin.delete(f"/v1/keys/{created.json()['id']}")
            with service.client(created.json()["secret"]) as ci:
                assert ci.get("/v1/videos").status_code == 401


def test_queue_caps_answer_429_with_retry_after(sqlite_url, settings_for):
    with running_service(settings_for(sqlite_url, max_queue=3)) as service:
        capped = service.new_key("capped", max_queued=2)
        with service.client(capped) as client:
            for _ in range(2):
                assert (
                    client.post("/v1/videos", json={"prompt": PROMPT, **SMALL}).status_code == 202
                )
            over = client.post("/v1/videos", json={"prompt": PROMPT, **SMALL})
            assert over.status_code == 429 and error_code(over) == "too_many_queued"
            assert int(over.headers["Retry-After"]) > 0
        with service.client(service.new_key("other")) as other:
            assert other.post("/v1/videos", json={"prompt": PROMPT, **SMALL}).status_code == 202
            full = other.post("/v1/videos", json={"prompt": PROMPT, **SMALL})
            assert full.status_code == 429 and error_code(full) == "queue_full"
            assert int(full.headers["Retry-After"]) > 0


def test_rate_limit_answers_429(sqlite_url, settings_for):
    with (
        running_service(settings_for(sqlite_url)) as service,
        service.client(service.new_key("slow", rate_limit_per_minute=2)) as client,
    ):
        codes = [
            client.post("/v1/videos", json={"prompt": PROMPT, **SMALL}).status_code
            for _ in range(3)
        ]
        assert codes == [202, 202, 429]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"prompt": PROMPT, "size": "1280*720"}, "unsupported_size"),
        ({"prompt": PROMPT, "size": "big"}, "unsupported_size"),
        ({"prompt": PROMPT, "num_frames": 16}, "invalid_frame_num"),
        ({"prompt": PROMPT, "num_frames": 0}, "invalid_frame_num"),
        ({"prompt": PROMPT, "num_frames": 201}, "too_many_frames"),
        ({"prompt": PROMPT, "steps": 1000}, "too_many_steps"),
        ({"prompt": PROMPT, "steps": 0}, "invalid_steps"),
        ({"prompt": "x" * 3000}, "prompt_too_long"),
        ({"prompt": ""}, "invalid_request"),
        ({"prompt": PROMPT, "colour": "red"}, "invalid_request"),
        ({"prompt": PROMPT, "num_frames": "many"}, "invalid_request"),
        ({"prompt": PROMPT, "model": "wan-99"}, "unknown_model"),
        ({"prompt": PROMPT, "task": "t2v-14B"}, "unsupported_task"),
        ({"prompt": PROMPT, "task": "demo-i2v"}, "missing_image"),
        ({"prompt": PROMPT, "webhook": "http://127.0.0.1:9/hook"}, "webhook_refused"),
        ({"prompt": PROMPT, "webhook": "ftp://example.com/x"}, "webhook_refused"),
        ([1, 2], "invalid_request"),
    ],
)
def test_bad_json_requests_are_4xx_with_a_code(sqlite_url, settings_for, body, code):
    with (
        running_service(settings_for(sqlite_url, max_frames=81)) as service,
        service.client(service.admin_key) as client,
    ):
        assert error_code(client.post("/v1/videos", json=body)) == code
        assert client.get("/v1/videos").json()["data"] == []


@pytest.mark.parametrize(
    ("files", "code"),
    [
        ({"image": ("a.png", b"not an image", "image/png")}, "invalid_image"),
        ({"image": ("a.png", png(64, 64)[:80], "image/png")}, "invalid_image"),
        ({"image": ("a.gif", b"GIF89a" + png(8, 8), "image/gif")}, "invalid_image"),
        ({"image": ("bomb.png", bomb_png(50_000, 50_000), "image/png")}, "image_too_large"),
        ({"first_frame": ("a.png", png(64, 64), "image/png")}, "missing_image"),
        ({"video": ("a.png", png(64, 64), "image/png")}, "invalid_request"),
    ],
)
def test_bad_images_are_4xx_with_a_code(sqlite_url, settings_for, files, code):
    with (
        running_service(settings_for(sqlite_url)) as service,
        service.client(service.admin_key) as client,
    ):
        response = client.post("/v1/videos", data={"prompt": PROMPT}, files=files)
        assert error_code(response) == code


def test_a_gif_is_refused_by_format(sqlite_url, settings_for):
    data = io.BytesIO()
    Image.new("RGB", (64, 64)).save(data, format="GIF")
    with (
        running_service(settings_for(sqlite_url)) as service,
        service.client(service.admin_key) as client,
    ):
        response = client.post(
            "/v1/videos",
            data={"prompt": PROMPT},
            files={"image": ("a.gif", data.getvalue(), "image/gif")},
        )
        assert error_code(response) == "unsupported_image_format"


def test_an_oversized_upload_is_refused(sqlite_url, settings_for):
    with (
        running_service(settings_for(sqlite_url, max_image_bytes=1000)) as service,
        service.client(service.admin_key) as client,
    ):
        response = client.post(
            "/v1/videos",
            data={"prompt": PROMPT},
            files={"image": ("a.png", png(256, 256) + b"\0" * 2000, "image/png")},
        )
        assert error_code(response) == "image_too_large"


def test_an_oversized_body_is_refused_before_it_is_read(sqlite_url, settings_for):
    settings = settings_for(sqlite_url, max_image_bytes=1000)
    with running_service(settings) as service, service.client(service.admin_key) as client:
        response = client.post(
            "/v1/videos",
            data={"prompt": PROMPT},
            files={"image": ("a.png", b"\0" * 5_000_000, "image/png")},
        )
        assert response.status_code == 413 and error_code(response) == "request_too_large"


def test_the_openapi_schema_documents_the_body_and_400s(sqlite_url, settings_for):
    with running_service(settings_for(sqlite_url)) as service, service.client() as client:
        schema = client.get("/openapi.json").json()
    create = schema["paths"]["/v1/videos"]["post"]
    assert set(create["requestBody"]["content"]) == {"application/json", "multipart/form-data"}
    assert "prompt" in create["requestBody"]["content"]["application/json"]["schema"]["properties"]
    assert {"202", "400", "401", "429"} <= set(create["responses"])
    assert all("422" not in op["responses"] for p in schema["paths"].values() for op in p.values())
