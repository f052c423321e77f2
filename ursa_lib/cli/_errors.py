"""The one error handler of the ``ursa`` command: exit codes and one-line messages.

Every command runs inside `handled`. A mistake the user can fix (a library
`UrsaError`, a refused argument, a file in the way, an unreachable endpoint)
becomes one ``error: …`` line on stderr that names the flag to change, and an
exit code from `ExitCode`. ``--debug`` (or ``URSA_DEBUG=1``) prints the
traceback first. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import os
import re
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING

import typer

from .._errors import (
    AccessDeniedError,
    CatalogError,
    ConfigError,
    NothingMatchedError,
    ObjectStoreTransientError,
    UrsaError,
)

if TYPE_CHECKING:
    from .._config import LocalProfile, S3Profile

__all__ = [
    "EXIT_CODES_HELP",
    "CliError",
    "CommandFailed",
    "ExitCode",
    "State",
    "flag_used",
    "handled",
]


class ExitCode(IntEnum):
    """What ``ursa`` returns; the same with ``--json``."""

    OK = 0
    FAILURE = 1
    """The command ran and could not do it (store, catalog, files, network)."""
    USAGE = 2
    """The command line or the profile it names is wrong; nothing was attempted."""
    NOTHING_MATCHED = 3
    """``query`` or ``download`` matched no recording."""
    INTERRUPTED = 130
    """Ctrl-C."""


EXIT_CODES_HELP = (
    "Exit codes: 0 ok · 1 failure · 2 usage (bad option, unknown profile, missing setting) · "
    "3 nothing matched · 130 interrupted. The same with --json. "
    "Global options (--debug, -q/--quiet, -v/--verbose) may appear anywhere."
)


@dataclass(slots=True)
class State:
    """Options of the whole invocation, set by the root callback."""

    debug: bool = False
    quiet: bool = False
    verbose: int = 0
    profile: LocalProfile | S3Profile | None = None
    """The profile a command loaded, so connection errors can name it."""
    args: tuple[str, ...] = ()
    """The command line's words, so a message can name an option as it was typed."""
    time_range_flags: str = "--start-ns/--end-ns"
    """The options a library message's ``time_range`` stands for in this command."""

    def reset(self, *, debug: bool, quiet: bool, verbose: int) -> None:
        """A fresh state for one invocation (the command line's words stay)."""
        self.debug, self.quiet, self.verbose, self.profile = debug, quiet, verbose, None
        self.time_range_flags = "--start-ns/--end-ns"


STATE = State()


class CliError(Exception):
    """A failure the CLI itself detected; ``str()`` is the whole line."""

    def __init__(self, message: str, code: ExitCode = ExitCode.FAILURE) -> None:
        super().__init__(message)
        self.code = code


class CommandFailed(SystemExit):
    """How a handled error leaves the command: a `SystemExit` whose ``str()`` is the
    message printed, so programmatic callers (and test runners) can read it."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(code)
        self.message = message

    def __str__(self) -> str:
        return self.message


_PY_KWARG = re.compile(r"\b(existing|source|status|layout)=(['\"])([a-z_]+)\2")
_MAX_CHARS = 300
_S3_CODE = re.compile(r"<Code>(\w+)</Code>")
_REFUSED_MARKERS = (
    "status: 403",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "AccessDenied",
)
_CONNECT_MARKERS = (
    "connection refused",
    "error trying to connect",
    "tcp connect error",
    "dns error",
    "failed to lookup address",
    "connect timeout",
    "operation timed out",
    "network is unreachable",
    "no route to host",
)


def cli_words(message: str) -> str:
    """Library advice in Python syntax (``existing='skip'``) as CLI flags (``--existing skip``)."""
    message = _PY_KWARG.sub(lambda m: f"--{m.group(1)} {m.group(3)}", message)
    message = message.replace("time_range", STATE.time_range_flags)
    message = message.replace("pass participant_id", "pass --participant")
    message = message.replace("fix participant_id (CLI: --participant)", "fix --participant")
    return message.replace("overwrite=True", "--existing overwrite")


def _short(message: str) -> str:
    """First line, without Rust debug dumps, at most ~300 characters (``--debug`` shows all)."""
    first = message.strip().splitlines()[0] if message.strip() else message
    for cut in (" Generic {", " Os {", ", source:", " { source"):
        if cut in first:
            first = first.split(cut, 1)[0].rstrip(" :(,")
    if len(first) > _MAX_CHARS:
        # The advice is at the end of a library message: keep both ends.
        first = first[: _MAX_CHARS // 2].rstrip() + " … " + first[-_MAX_CHARS // 2 :].lstrip()
    return first


def _refused_line(text: str, profile: str) -> str:
    code = _S3_CODE.search(text)
    what = _short(text).split(" failed", 1)[0]
    return (
        f"{what}: the server refused profile {profile!r}'s keys"
        f"{f' ({code.group(1)})' if code else ''}; check the URSA_{profile.upper()}_<ROLE>_* "
        f"variables that `ursa profile show -p {profile}` names"
    )


def _endpoint_hint(profile: LocalProfile | S3Profile | None) -> str:
    if profile is None or profile.kind != "s3":
        return "check the profile's endpoint and your network"
    endpoint = getattr(profile, "endpoint", None) or "the AWS default endpoint"
    env = f"URSA_PROFILES__{profile.name.upper()}__ENDPOINT"
    return (
        f"cannot reach {endpoint} (profile {profile.name!r}); check that the server is up, "
        f"your network or VPN, and profiles.{profile.name}.endpoint (or {env})"
    )


def flag_used(*names: str) -> str:
    """Which of an option's ``names`` the command line used (the first if none)."""
    for arg in STATE.args:
        for name in names:
            if arg == name or arg.startswith(name + "="):
                return name
    return names[0]


def describe(exc: BaseException) -> tuple[str, ExitCode] | None:
    """The line and exit code for an error a user can act on; None for a bug."""
    if isinstance(exc, CliError):
        return str(exc), exc.code
    if isinstance(exc, ConfigError):
        return cli_words(_short(str(exc))), ExitCode.USAGE
    text = str(exc)
    connect = any(marker in text.lower() for marker in _CONNECT_MARKERS)
    if connect and isinstance(exc, ObjectStoreTransientError | CatalogError):
        return _endpoint_hint(STATE.profile), ExitCode.FAILURE
    refused = isinstance(exc, AccessDeniedError) or (
        isinstance(exc, CatalogError) and any(m in text for m in _REFUSED_MARKERS)
    )
    if refused and STATE.profile is not None:
        return _refused_line(text, STATE.profile.name), ExitCode.FAILURE
    if isinstance(exc, NothingMatchedError):
        return cli_words(_short(text)), ExitCode.NOTHING_MATCHED
    if isinstance(exc, UrsaError):
        return cli_words(_short(text)), ExitCode.FAILURE
    if isinstance(exc, OSError):
        # FileExistsError, NotADirectoryError, PermissionError, disk full …: the
        # message names the path (and, from the library, the flag to change).
        return cli_words(_short(text)), ExitCode.FAILURE
    if isinstance(exc, ValueError):
        return cli_words(_short(text)), ExitCode.USAGE
    return None


def _usage_line(exc: typer.TyperException) -> str:
    message = exc.format_message().replace("Value error, ", "")
    ctx = getattr(exc, "ctx", None)
    where = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
    return f"{message.rstrip('.')}{where}"


def _fail(code: int, line: str, exc: BaseException) -> CommandFailed:
    if STATE.debug or os.environ.get("URSA_DEBUG") not in (None, "", "0"):
        traceback.print_exception(exc, file=sys.stderr)
    print(f"error: {line}", file=sys.stderr, flush=True)
    return CommandFailed(code, line)


@contextmanager
def handled() -> Iterator[None]:
    """Turn a user-fixable error raised inside into one line and an exit code."""
    try:
        yield
    except (typer.Exit, BrokenPipeError):
        raise  # an exit code already chosen; a closed pipe (`| head`) is typer's to quiet
    except KeyboardInterrupt as exc:
        raise _fail(
            int(ExitCode.INTERRUPTED),
            "interrupted; nothing half-written was kept: run the same command again to go "
            "on (what is already stored is skipped; a download needs --existing skip)",
            exc,
        ) from None
    except typer.TyperException as exc:
        # Usage errors (exit code 2) become one line; help requests pass through.
        if getattr(exc, "exit_code", 1) != ExitCode.USAGE or "NoArgsIsHelp" in type(exc).__name__:
            raise
        raise _fail(int(ExitCode.USAGE), _usage_line(exc), exc) from None
    except Exception as exc:
        found = describe(exc)
        if found is None:
            raise
        line, code = found
        raise _fail(int(code), line, exc) from None
