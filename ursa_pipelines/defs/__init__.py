"""The code location's definitions, one package per domain, in data-flow order.

Each domain package exposes ``defs`` (a `dg.Definitions` of its assets, checks,
jobs, sensors and schedules); ``ursa_pipelines.definitions`` merges them and
binds the resource. Shared helpers (`UrsaResource`, the error boundary, the
policy) live outside this folder, so it holds only definitions.

* ``ingest/``     landing session → raw bucket → catalog rows; backfill and reconcile
* ``processing/`` raw segments → processed assets (converters)
* ``delivery/``   catalog queries → files (download)
* ``lifecycle/``  what is already stored: inventory, and later verify, scrub, delete
"""
