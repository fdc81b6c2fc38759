"""Where backup files go: a directory (default) or, optionally, an S3-compatible bucket.

A backup is written to a staging file first and only then given its final name, so a crash
while writing never leaves something that looks like a finished backup. S3 needs ``boto3``
(the ``s3`` extra: ``pip install 'rampart[s3]'``); credentials come from boto3's usual
places (``AWS_ACCESS_KEY_ID``…, ``~/.aws``), never from Rampart's settings.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from rampart.backup.errors import BackupError
from rampart.backup.staging import staged_name

SUFFIX = ".rbk"


class Destination(Protocol):
    label: str

    def staging(self, name: str) -> Path:
        """A local path to write ``name`` to before :meth:`commit`."""
        ...

    def commit(self, staged: Path, name: str) -> None: ...

    def names(self) -> list[str]:
        """Backup file names, oldest first."""
        ...

    @contextlib.contextmanager
    def local(self, name: str) -> Iterator[Path]:
        """A readable local copy of ``name`` for as long as the block runs."""
        ...

    def delete(self, name: str) -> None: ...


class DirectoryDestination:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.label = str(path)

    def staging(self, name: str) -> Path:
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise BackupError(
                f"Cannot create the backup folder {self.path}: {err.strerror or err}."
            ) from None
        return self.path / staged_name(name)

    def commit(self, staged: Path, name: str) -> None:
        os.replace(staged, self.path / name)

    def names(self) -> list[str]:
        if not self.path.is_dir():
            return []
        return sorted(p.name for p in self.path.iterdir() if p.suffix == SUFFIX and p.is_file())

    @contextlib.contextmanager
    def local(self, name: str) -> Iterator[Path]:
        path = self.path / name
        if not path.is_file():
            raise BackupError(f"There is no backup called {name} in {self.path}.")
        yield path

    def delete(self, name: str) -> None:
        (self.path / name).unlink(missing_ok=True)


class S3Destination:
    def __init__(
        self,
        bucket: str,
        prefix: str,
        *,
        endpoint_url: str | None,
        region: str | None,
        staging_dir: Path,
    ) -> None:
        try:
            import boto3  # type: ignore[import-not-found]
        except ImportError:
            raise BackupError(
                "Backups to S3 need boto3, which is not installed; run `pip install boto3` or "
                "leave backup.s3_bucket empty to keep backups in backup.dir."
            ) from None
        self._s3: Any = boto3.client("s3", endpoint_url=endpoint_url, region_name=region)
        self.bucket = bucket
        self.prefix = prefix
        self.staging_dir = staging_dir
        self.where = endpoint_url or "S3"
        self.label = f"s3://{bucket}/{prefix}"

    @contextlib.contextmanager
    def _talking(self, doing: str) -> Iterator[None]:
        """botocore's errors as one sentence naming the bucket (never its credentials)."""
        from boto3.exceptions import S3UploadFailedError  # type: ignore[import-not-found]
        from botocore.exceptions import (  # type: ignore[import-not-found]
            BotoCoreError,
            ClientError,
            EndpointConnectionError,
        )

        try:
            try:
                yield
            except S3UploadFailedError as err:
                # boto3 wraps the service's answer; the answer is what says what went wrong.
                if isinstance(err.__cause__, ClientError):
                    raise err.__cause__ from None
                raise
        except EndpointConnectionError:
            raise BackupError(
                f"{self.where} cannot be reached, so the backup could not be {doing}; check "
                "backup.s3_endpoint_url and the network."
            ) from None
        except ClientError as err:
            code = str(err.response.get("Error", {}).get("Code", "error"))
            why = {
                "NoSuchBucket": f"the bucket {self.bucket!r} does not exist",
                "404": f"the bucket {self.bucket!r} or the backup does not exist",
                "NoSuchKey": "the backup is not in the bucket",
                "AccessDenied": f"access to the bucket {self.bucket!r} is denied",
                "403": f"access to the bucket {self.bucket!r} is denied",
                "InvalidAccessKeyId": "the S3 access key is not known",
                "SignatureDoesNotMatch": "the S3 secret key is wrong",
            }.get(code, f"S3 answered {code} for the bucket {self.bucket!r}")
            raise BackupError(f"The backup could not be {doing}: {why}.") from None
        except (BotoCoreError, S3UploadFailedError) as err:
            first = str(err).splitlines()[0] if str(err) else type(err).__name__
            raise BackupError(f"The backup could not be {doing}: {first}.") from None

    def staging(self, name: str) -> Path:
        self.staging_dir.mkdir(parents=True, exist_ok=True)
        return self.staging_dir / staged_name(name)

    def commit(self, staged: Path, name: str) -> None:
        try:
            with self._talking("uploaded"):
                self._s3.upload_file(str(staged), self.bucket, self.prefix + name)
        finally:
            staged.unlink(missing_ok=True)

    def names(self) -> list[str]:
        with self._talking("listed"):
            pages = self._s3.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self.prefix
            )
            found = [
                item["Key"][len(self.prefix) :]
                for page in pages
                for item in page.get("Contents", [])
                if item["Key"].endswith(SUFFIX)
            ]
        return sorted(n for n in found if "/" not in n)

    @contextlib.contextmanager
    def local(self, name: str) -> Iterator[Path]:
        self.staging_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=self.staging_dir) as tmp:
            path = Path(tmp) / name
            with self._talking("downloaded"):
                self._s3.download_file(self.bucket, self.prefix + name, str(path))
            yield path

    def delete(self, name: str) -> None:
        with self._talking("deleted"):
            self._s3.delete_object(Bucket=self.bucket, Key=self.prefix + name)
