"""HTTP routers: parse, call one service (a field of the ``Registry``), return a typed model.

No business rules and no database sessions here (``tests/unit/app/test_thin_routes.py``); the
services live in the domain packages (``app/<domain>/service.py`` and friends).
"""
