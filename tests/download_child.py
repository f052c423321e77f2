"""A download in its own process, for the kill -9 test.

python -c "from tests.download_child import main; main([...])" CATALOG URL KEY SECRET DEST
"""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr

from ursa_lib import S3Credentials, Store, download, query
from ursa_lib.catalog import Catalog
from ursa_lib.store import ObstoreBackend

from .conftest import FAST_RETRY, SMALL_TRANSFER


def main(argv: list[str]) -> None:
    catalog_dir, url, key, secret, dest = argv
    backend = ObstoreBackend.s3(
        bucket="ursa-raw",
        endpoint=url,
        region="us-east-1",
        credentials=S3Credentials(
            access_key_id=SecretStr(key), secret_access_key=SecretStr(secret)
        ),
        supports_create=False,
    )
    raw = Store(backend, role="raw_ro", writable=False, retry=FAST_RETRY, transfer=SMALL_TRANSFER)
    results = query(Catalog(catalog_dir, writable=False), status="raw")
    download(results, Path(dest), raw=raw, max_concurrent_files=2)
