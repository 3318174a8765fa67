"""Django: route ``/skyflow/v1/token`` and ``/skyflow/healthz`` to the token-vending app.

Django cannot mount a WSGI app in its URL router, so a small view hands the request to it
with ``skyflow_provider.vending.call_wsgi``. Single-file project for the example; in a real
project the view goes into one of your apps and the URL into ``urls.py``. Run::

    venv/bin/python examples/token-backend/django_app.py runserver 8000
"""

from __future__ import annotations

import os
import secrets
import sys

import django
from django.conf import settings

if not settings.configured:
    settings.configure(
        DEBUG=False,
        SECRET_KEY=os.environ.get("DJANGO_SECRET_KEY") or secrets.token_hex(32),
        ROOT_URLCONF=__name__,
        ALLOWED_HOSTS=["127.0.0.1", "localhost", "testserver"],
        MIDDLEWARE=["django.middleware.security.SecurityMiddleware",
                    "django.middleware.common.CommonMiddleware"],
        INSTALLED_APPS=[],
    )
    django.setup()

from django.http import HttpRequest, HttpResponse  # noqa: E402
from django.urls import re_path  # noqa: E402
from django.views.decorators.csrf import csrf_exempt  # noqa: E402

from skyflow_provider.vending import TokenVendor, VendingApp, call_wsgi  # noqa: E402

try:
    from backend import build_vending_app  # noqa: E402
except ImportError:  # pragma: no cover
    from .backend import build_vending_app  # type: ignore[no-redef]  # noqa: E402

_app: VendingApp | None = None


def use_vendor(vendor: TokenVendor | None) -> None:
    """Build the vending app now (tests inject a vendor; production reads the env)."""
    global _app
    _app = build_vending_app(vendor)


@csrf_exempt  # no cookies are involved: the caller authenticates with a bearer session token
def skyflow_token(request: HttpRequest, rest: str) -> HttpResponse:
    if _app is None:
        use_vendor(None)
    assert _app is not None
    status, headers, body = call_wsgi(_app, request.META, path="/" + rest, body=request.body)
    response = HttpResponse(body, status=status)
    for name, value in headers:
        if name.lower() != "content-length":
            response[name] = value
    return response


urlpatterns = [re_path(r"^skyflow/(?P<rest>v1/token|healthz)$", skyflow_token)]


if __name__ == "__main__":  # pragma: no cover
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
