"""The registry's HTTP service, one package per domain (README "Layout").

``registry.py`` builds every backend and service once (``Registry.build``); ``main.py`` mounts
the routers (``routers/``) and middleware; ``asgi.py`` is what ``vouch serve`` runs;
``deps.py`` holds the FastAPI dependencies. Everything else is in a domain package: ``core``,
``accounts``, ``publishing``, ``trust``, ``advisories``, ``search``, ``storage``, ``web``, and
one per package format (``pypi``, ``npm``).
"""
