"""Objects in an S3-compatible bucket: AWS S3, MinIO, Cloudflare R2, moto."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, cast

import boto3
from boto3.exceptions import Boto3Error
from botocore.client import BaseClient
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from kino.storage.digest import sha256_file
from kino.storage.errors import ObjectNotFound, StorageError
from kino.storage.interface import StoredObject
from kino.storage.keys import check_key, check_prefix

DELETE_BATCH = 1000  # the most keys one DeleteObjects call takes
MISSING_CODES = frozenset({"404", "NoSuchKey", "NotFound"})


def s3_client(
    *,
    endpoint_url: str | None = None,
    region: str | None = None,
    access_key_id: str | None = None,
    secret_access_key: str | None = None,
) -> BaseClient:
    """A client that works against AWS and S3-compatible services alike: SigV4 and path-style
    URLs (http://endpoint/bucket/key), which MinIO, R2 and moto accept without DNS per bucket.
    Credentials left out come from boto3's usual chain (environment, config files, roles)."""
    return boto3.client(
        "s3",
        endpoint_url=endpoint_url,
        region_name=region,
        aws_access_key_id=access_key_id,
        aws_secret_access_key=secret_access_key,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )


class S3Storage:
    """Key ``k`` is the object ``prefix/k`` in bucket. presign_client, when given, signs the
    URLs handed to clients; it is built on the endpoint they reach (the public side of a proxy),
    since the host is part of the signature."""

    def __init__(
        self,
        bucket: str,
        prefix: str,
        client: BaseClient,
        *,
        presign_client: BaseClient | None = None,
    ) -> None:
        self.bucket = bucket
        stripped = prefix.strip("/")
        self.prefix = f"{check_key(stripped)}/" if stripped else ""
        self.client = client
        self.presign_client = presign_client or client

    def put_file(self, key: str, path: Path, content_type: str) -> StoredObject:
        digest, size = sha256_file(path)
        with self._errors(key):
            self.client.upload_file(
                str(path), self.bucket, self._key(key), ExtraArgs={"ContentType": content_type}
            )
        return StoredObject(key=key, bytes=size, sha256=digest)

    def put_bytes(self, key: str, data: bytes, content_type: str) -> StoredObject:
        with self._errors(key):
            self.client.put_object(
                Bucket=self.bucket, Key=self._key(key), Body=data, ContentType=content_type
            )
        return StoredObject(key=key, bytes=len(data), sha256=hashlib.sha256(data).hexdigest())

    def get_bytes(self, key: str) -> bytes:
        with self.open(key) as stream, self._errors(key):
            return stream.read()

    def download(self, key: str, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # boto3 writes to a temp file next to path and renames it into place.
        with self._errors(key):
            self.client.download_file(self.bucket, self._key(key), str(path))

    def open(self, key: str) -> BinaryIO:
        with self._errors(key):
            response = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
        # botocore's StreamingBody is an io.IOBase with read(); typeshed cannot know it.
        return cast(BinaryIO, response["Body"])

    def presigned_url(self, key: str, expires_in: int) -> str | None:
        with self._errors(key):
            url: str = self.presign_client.generate_presigned_url(
                "get_object",
                Params={"Bucket": self.bucket, "Key": self._key(key)},
                ExpiresIn=expires_in,
            )
        return url

    def delete_prefix(self, prefix: str) -> int:
        full_prefix = self.prefix + check_prefix(prefix)
        deleted = 0
        with self._errors(prefix):
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket,
                Prefix=full_prefix,
                PaginationConfig={"PageSize": DELETE_BATCH},
            )
            for page in pages:
                keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
                if not keys:
                    continue
                response = self.client.delete_objects(
                    Bucket=self.bucket, Delete={"Objects": keys, "Quiet": True}
                )
                if errors := response.get("Errors"):
                    first = errors[0]
                    raise StorageError(
                        f"could not delete {len(errors)} objects under s3://{self.bucket}/"
                        f"{full_prefix}, e.g. {first['Key']}: {first['Code']} {first['Message']}"
                    )
                deleted += len(keys)
        return deleted

    def exists(self, key: str) -> bool:
        try:
            with self._errors(key):
                self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ObjectNotFound:
            return False
        return True

    def ensure_bucket(self) -> None:
        """Create the bucket if it does not exist (tests, and `kino serve` when asked to)."""
        region = self.client.meta.region_name
        # us-east-1 is the one region that refuses an explicit LocationConstraint.
        options = (
            {"CreateBucketConfiguration": {"LocationConstraint": region}}
            if region and region != "us-east-1"
            else {}
        )
        with self._errors(""):
            try:
                self.client.head_bucket(Bucket=self.bucket)
                return
            except ClientError as error:
                if _error_code(error) not in MISSING_CODES:
                    raise
            try:
                self.client.create_bucket(Bucket=self.bucket, **options)
            except ClientError as error:  # created meanwhile by another process
                if _error_code(error) != "BucketAlreadyOwnedByYou":
                    raise

    def _key(self, key: str) -> str:
        return self.prefix + check_key(key)

    @contextmanager
    def _errors(self, key: str) -> Iterator[None]:
        """Turn botocore errors into ObjectNotFound or StorageError."""
        try:
            yield
        except ClientError as error:
            if _error_code(error) in MISSING_CODES:
                raise ObjectNotFound(
                    f"no object {key!r} in s3://{self.bucket}/{self.prefix}"
                ) from None
            raise StorageError(self._failure(key, error)) from error
        except (BotoCoreError, Boto3Error) as error:
            # Boto3Error: upload_file wraps the service's answer in S3UploadFailedError.
            raise StorageError(self._failure(key, error)) from error

    def _failure(self, key: str, error: Exception) -> str:
        return f"S3 request for s3://{self.bucket}/{self.prefix}{key} failed: {error}"


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))
