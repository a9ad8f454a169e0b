"""Serving with gunicorn: its sync worker, answering with the product's own page where
gunicorn would answer by itself.

gunicorn reads a request line of at most ``limit_request_line`` (8,190) characters and
headers of at most ``limit_request_field_size``; beyond those it never calls the app and
writes a bare page of its own ("URI Too Long", "Request Line is too large (16384 > 8190)").
This worker answers those two cases through the app instead: a request it makes up (the
site's root, from no one) carries the status under ``REFUSED``, a key of the WSGI environ
no client can set, and the app's first request hook refuses it with that status, so the
page, its headers (Content-Security-Policy and the rest) and the incident reference are the
product's. ``gunicorn.conf.py`` names this worker.
"""

from __future__ import annotations

from typing import Any

from gunicorn.http.errors import LimitRequestHeaders, LimitRequestLine
from gunicorn.workers.sync import SyncWorker
from werkzeug.test import EnvironBuilder

from app.hardening import REFUSED


def refusal_page(wsgi: Any, status: int) -> bytes:
    """The app's own answer to a request refused with ``status`` (414, 431), as the bytes
    of an HTTP/1.1 response that closes the connection."""
    hosts = (getattr(wsgi, "config", None) or {}).get("TRUSTED_HOSTS") or ["localhost"]
    environ = EnvironBuilder(path="/", base_url=f"http://{hosts[0].lstrip('.')}/").get_environ()
    environ[REFUSED] = status
    answered: dict[str, Any] = {}

    def start_response(status_line: str, headers: list[tuple[str, str]], exc_info=None):
        answered["status"], answered["headers"] = status_line, headers
        return lambda data: None

    chunks = wsgi(environ, start_response)
    try:
        body = b"".join(chunks)
    finally:
        close = getattr(chunks, "close", None)
        if close:
            close()
    skip = {"content-length", "connection", "transfer-encoding"}
    head = [f"HTTP/1.1 {answered['status']}", "Connection: close"]
    head += [f"{k}: {v}" for k, v in answered["headers"] if k.lower() not in skip]
    if status == 431:
        # Every request carrying those cookies, the page's stylesheet included, is refused
        # the same way: the browser is asked to drop them (honoured over HTTPS and on
        # localhost), so that the link on the page leads back in.
        head.append('Clear-Site-Data: "cookies"')
    head.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


class Worker(SyncWorker):
    """gunicorn's sync worker, with the product's page for an address or headers too large."""

    def handle_error(self, req, client, addr, exc):
        if isinstance(exc, LimitRequestLine):
            status = 414
        elif isinstance(exc, LimitRequestHeaders):
            status = 431
        else:
            return super().handle_error(req, client, addr, exc)
        self.log.warning("Invalid request from ip=%s: %s", (addr or ("",))[0], exc)
        try:
            client.sendall(refusal_page(self.wsgi, status))
        except Exception:  # the app or the socket failed: gunicorn's own answer, as before
            self.log.exception("The refusal page failed; gunicorn answers instead")
            return super().handle_error(req, client, addr, exc)
        return None
