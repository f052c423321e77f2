"""``ursa profile``: which profiles exist and what the active one points at."""

from __future__ import annotations

from typing import Any

import typer

from ._options import JsonOption, ProfileOption
from ._output import emit_json, print_table
from ._profiles import config_file, describe_profile, known_profiles

__all__ = ["profile_app"]

profile_app = typer.Typer(no_args_is_help=True, help="Inspect profiles.")


def _rows(info: dict[str, Any]) -> list[dict[str, str]]:
    rows = [
        {"setting": k.replace("_", " "), "value": str(v)}
        for k, v in info.items()
        if k != "credentials"
    ]
    for role, names in info.get("credentials", {}).items():
        rows.append({"setting": f"keys {role}", "value": ", ".join(names.values())})
    return rows


@profile_app.command("show")
def profile_show(profile: ProfileOption = None, as_json: JsonOption = False) -> None:
    """Print the active profile's settings and the config file they came from (never secrets)."""
    from .._config import load_profile

    loaded = load_profile(profile)
    source = config_file()
    info = {**describe_profile(loaded), "config_file": str(source) if source else None}
    if as_json:
        emit_json(info)
        return
    info["config_file"] = str(source) if source else "(none found: built-in defaults)"
    print_table(_rows(info), ("setting", "value"), header=False)


@profile_app.command("list")
def profile_list(as_json: JsonOption = False) -> None:
    """Every profile the config file and URSA_PROFILES__* define, plus local."""
    from .._errors import ConfigError

    rows = []
    for name in known_profiles():
        try:
            from .._config import load_profile

            info = describe_profile(load_profile(name))
        except ConfigError as exc:
            info = {"name": name, "kind": "?", "error": str(exc)}
        rows.append(info)
    if as_json:
        for info in rows:
            emit_json(info)
        return
    source = config_file()
    print_table(
        (
            {
                "name": str(r["name"]),
                "kind": str(r["kind"]),
                "endpoint / root": str(r.get("endpoint", r.get("root", ""))),
                "raw": str(r.get("raw", r.get("error", ""))),
                "catalog": str(r.get("catalog", "")),
            }
            for r in rows
        ),
        ("name", "kind", "endpoint / root", "raw", "catalog"),
        title=f"profiles ({source or 'no config file'})",
    )
