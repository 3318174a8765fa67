"""The HTTP layer, like moto's ``responses.py``: each function ``(ctx) -> dict`` reads the
request (path, query, body), calls the model and shapes the answer with ``views``.

No business rule lives here; ``targets`` resolves what a route's permission is checked on.
"""
