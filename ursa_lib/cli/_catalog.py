"""``ursa catalog``: what the catalog holds."""

from __future__ import annotations

import typer

from ._options import JsonOption, ProfileOption, RootOption
from ._output import emit_json, print_table, say
from ._profiles import catalog_location, config_file, open_profile

__all__ = ["catalog_app"]

catalog_app = typer.Typer(no_args_is_help=True, help="The catalog.")


@catalog_app.command("status")
def catalog_status(
    profile: ProfileOption = None, root: RootOption = None, as_json: JsonOption = False
) -> None:
    """Row counts by table and modalities by ingestion status, naming the catalog read."""
    from .._interface import DataInterface

    loaded = open_profile(profile, root, roles=("assets_ro",), needs_catalog=True)
    status = DataInterface(loaded).status()
    by_status = status.pop("modalities_by_status", {})
    source = config_file()
    if as_json:
        emit_json(
            {
                "profile": loaded.name,
                "config_file": str(source) if source else None,
                "catalog": catalog_location(loaded),
                "tables": status,
                "modalities_by_status": by_status,
            }
        )
        return
    rows = [{"table": name, "rows": f"{count:,}"} for name, count in status.items()]
    rows += [{"table": f"  modalities {name}", "rows": f"{n:,}"} for name, n in by_status.items()]
    say(
        f"profile {loaded.name!r}, catalog {catalog_location(loaded)}\n"
        f"config file {source or '(none found: built-in defaults)'}"
    )
    print_table(rows, ("table", "rows"), right=("rows",))
