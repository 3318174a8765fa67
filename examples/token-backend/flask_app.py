"""Flask: mount the token-vending app at ``/skyflow`` next to your own routes.

``POST /skyflow/v1/token`` and ``GET /skyflow/healthz`` are the vending app; ``/`` serves the
example page. Run (after setting the variables of ``backend.py``)::

    FLASK_APP=examples/token-backend/flask_app.py venv/bin/flask run --port 5000

(``flask run`` is the development server; in production run ``flask_app:app`` on waitress or
gunicorn like any Flask app.)
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask, Response, send_file
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from skyflow_provider.vending import TokenVendor

try:  # imported as examples/token-backend/flask_app.py (path on sys.path) or as a package
    from backend import build_vending_app
except ImportError:  # pragma: no cover
    from .backend import build_vending_app  # type: ignore[no-redef]

PAGE = Path(__file__).with_name("index.html")


def create_app(vendor: TokenVendor | None = None) -> Flask:
    """Your Flask app, with the vending app mounted under ``/skyflow``."""
    app = Flask(__name__)

    @app.get("/")
    def index() -> Response:
        return send_file(PAGE)

    # The vending app is plain WSGI: mount it, do not wrap it in a Flask view.
    app.wsgi_app = DispatcherMiddleware(  # type: ignore[method-assign]
        app.wsgi_app, {"/skyflow": build_vending_app(vendor)})
    return app


if __name__ == "__main__":  # pragma: no cover
    create_app().run(port=5000)
