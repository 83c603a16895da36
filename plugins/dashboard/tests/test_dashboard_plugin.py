"""The plugin's wiring: entry point, light import, the ``zen dashboard`` command and its checks."""

from __future__ import annotations

import click
import pytest
import zen_dashboard
from click.testing import CliRunner

from zen_core.plugins import list_plugins, new_plugin_manager
from zen_core.testing import modules_imported_at_startup


def test_entry_point_is_listed():
    info = next(i for i in list_plugins() if i.name == "dashboard")
    assert info.distribution == "zen-dashboard" and info.error is None
    assert "commands" in info.provides


def test_loading_the_plugin_does_not_import_the_web_stack():
    heavy = ["starlette", "uvicorn", "jinja2", "markdown_it", "grandalf", "zen_dashboard.app"]
    assert modules_imported_at_startup(heavy) == []


def _cli() -> click.Group:
    from zen_core.cli import cli

    new_plugin_manager().hook.zen_register_commands(cli=cli)
    return cli


def test_zen_dashboard_help():
    result = CliRunner().invoke(_cli(), ["dashboard", "--help"])
    assert result.exit_code == 0 and "--token" in result.output and "127.0.0.1" in result.output


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "::", "example.internal"])
def test_other_address_without_token_is_refused(host, monkeypatch):
    monkeypatch.delenv(zen_dashboard.TOKEN_ENV, raising=False)
    result = CliRunner().invoke(_cli(), ["dashboard", "--host", host])
    assert result.exit_code == 2
    assert f"--host {host!r}" in result.output and "needs a token" in result.output
    assert "--token" in result.output and "127.0.0.1" in result.output


@pytest.mark.parametrize(("host", "loopback"), [
    ("127.0.0.1", True), ("localhost", True), ("::1", True), ("127.0.0.2", True),
    ("0.0.0.0", False), ("10.0.0.1", False), ("myhost", False)])
def test_is_loopback(host, loopback):
    assert zen_dashboard.is_loopback(host) is loopback


def test_token_allows_other_addresses():
    zen_dashboard.check_bind("0.0.0.0", "secret")  # no error: the token guards every request
    with pytest.raises(click.UsageError):
        zen_dashboard.check_bind("0.0.0.0", "")


def test_bad_stack_is_a_clear_error():
    result = CliRunner().invoke(_cli(), ["dashboard", "--stack", "nosuchstack"],
                                env={"ZEN_STACK": None})
    assert result.exit_code != 0
    assert "nosuchstack" in result.output


@pytest.mark.parametrize("port", ["99999", "0", "-1", "http"])
def test_a_port_outside_1_to_65535_is_a_clear_error(port):
    result = CliRunner().invoke(_cli(), ["dashboard", "--port", port])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "Invalid value for '--port'" in result.output
    assert ("is not in the range 1<=x<=65535" in result.output
            or "is not a valid integer" in result.output)


def test_allow_host_is_documented_in_help():
    result = CliRunner().invoke(_cli(), ["dashboard", "--help"])
    assert "--allow-host NAME" in result.output and "refused" in result.output
