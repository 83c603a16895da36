"""One FTP server (pyftpdlib, on 127.0.0.1) for the whole test session."""

from __future__ import annotations

import threading
import uuid
import warnings

import pytest

from zen_core.testing import free_port, service_unavailable

USER, PASSWORD = "zen", "zen-ftp-secret"


@pytest.fixture(scope="session")
def ftp_url(tmp_path_factory):
    """``ftp://127.0.0.1:<port>`` of a server whose user ``zen`` may write everywhere."""
    try:
        with warnings.catch_warnings():  # pyftpdlib still imports asyncore on Python 3.11
            warnings.simplefilter("ignore", DeprecationWarning)
            from pyftpdlib.authorizers import DummyAuthorizer
            from pyftpdlib.handlers import FTPHandler
            from pyftpdlib.servers import FTPServer

        authorizer = DummyAuthorizer()
        authorizer.add_user(USER, PASSWORD, str(tmp_path_factory.mktemp("ftp")), perm="elradfmw")
        handler = type("Handler", (FTPHandler,), {"authorizer": authorizer, "banner": "zen"})
        handler.log_prefix = ""
        port = free_port()
        server = FTPServer(("127.0.0.1", port), handler)
    except Exception as exc:
        service_unavailable(f"FTP server could not start: {type(exc).__name__}: {exc}")
    thread = threading.Thread(target=server.serve_forever, kwargs={"timeout": 0.1},
                              daemon=True)
    thread.start()
    yield f"ftp://127.0.0.1:{port}"
    server.close_all()
    thread.join(timeout=10)


@pytest.fixture
def ftp_table(ftp_url):
    """A store's config table for a fresh folder on the session's server."""
    return {"path": f"{ftp_url}/{uuid.uuid4().hex}",
            "options": {"username": USER, "password": PASSWORD}}
