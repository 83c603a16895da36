"""zen-dashboard: ``zen dashboard`` serves a read-only web UI for the active stack.

Importing this module (what the entry point loads, in every process that runs a
pipeline) stays cheap: click is imported when the CLI is built, Starlette, uvicorn
and Jinja2 only when the command runs.
"""

from __future__ import annotations

import ipaddress
import os
from typing import Any

from zen_core.plugins import hookimpl

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8237
TOKEN_ENV = "ZEN_DASHBOARD_TOKEN"
# Host names a dashboard without a token answers to (DNS rebinding: a page on another site
# that resolves its own name to 127.0.0.1 sends that name, never these).
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None) -> None:
    """Refuse to serve beyond this machine without a token."""
    if not is_loopback(host) and not token:
        import click

        raise click.UsageError(
            f"--host {host!r} makes the dashboard reachable from other machines, so it needs a "
            f"token. Fix: pass --token SECRET (or set {TOKEN_ENV}), or bind {DEFAULT_HOST}.")


def allowed_hosts(host: str, extra: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The ``Host`` names a dashboard bound to ``host`` answers when it needs no token."""
    return tuple(dict.fromkeys(h.lower().strip("[]") for h in (*LOOPBACK_NAMES, host, *extra)))


def _command() -> Any:
    """The ``zen dashboard`` command, built when the CLI asks for it."""
    import click

    @click.command("dashboard")
    @click.option("--host", default=DEFAULT_HOST, show_default=True,
                  help="Address to bind; anything but loopback requires --token.")
    @click.option("--port", default=DEFAULT_PORT, show_default=True,
                  type=click.IntRange(1, 65535), help="TCP port to listen on (1-65535).")
    @click.option("--token", envvar=TOKEN_ENV, default=None,
                  help=f"Secret every request must carry (header, ?token= once, then a cookie). "
                       f"Also read from {TOKEN_ENV}.")
    @click.option("--allow-host", "allow_host", multiple=True, metavar="NAME",
                  help="Another Host name to answer without a token (e.g. a name in /etc/hosts "
                       "for 127.0.0.1); repeatable. Without a token, requests naming any other "
                       "host are refused.")
    @click.option("--stack", "stack_name", default=None, help="Show this stack instead of the active one.")
    def dashboard(host: str, port: int, token: str | None, allow_host: tuple[str, ...],
                  stack_name: str | None) -> None:
        """Serve a read-only web UI of runs, steps, artifacts and lineage."""
        check_bind(host, token)
        if stack_name:
            os.environ["ZEN_STACK"] = stack_name  # this process serves one stack
        import uvicorn

        from zen_dashboard.app import create_app

        app = create_app(token=token, hosts=allowed_hosts(host, allow_host))
        _ = app.state.zen.client.active_stack  # config errors show here, not on the first request
        shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        url = f"http://{shown}:{port}/" + ("?token=<your token>" if token else "")
        click.echo(f"zen dashboard for stack {app.state.zen.stack_name!r}: {url}  (Ctrl+C stops it)")
        uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)

    return dashboard


@hookimpl
def zen_register_commands(cli: Any) -> None:
    cli.add_command(_command())
