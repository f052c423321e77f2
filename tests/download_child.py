"""A download in its own process, for the kill -9 test.

python -c "from tests.download_child import main; main([...])" CATALOG URL KEY SECRET DEST
"""

from __future__ import annotations

from pathlib import Path

from ursa_lib import download, query
from ursa_lib.catalog import Catalog
from ursa_lib.testing import Endpoint, s3_store


def main(argv: list[str]) -> None:
    catalog_dir, url, key, secret, dest = argv
    raw = s3_store(Endpoint(url, key, secret), writable=False, supports_create=False)
    results = query(Catalog(catalog_dir, writable=False), status="raw")
    download(results, Path(dest), raw=raw, max_concurrent_files=2)
