"""The upstream proxy (issue 17): names Vouch does not host, fetched from a configured upstream
(``VOUCH_UPSTREAMS``), verified, cached write-once, and served from Vouch for ever after.

    proxy = proxies(request.app)            # Proxies, built once per app
    page, stale = proxy.pypi.project_page("requests")

Modules: ``config`` (the file, from ``formats.upstreams``), ``guard`` (hosted and reserved names
never go upstream), ``fetch`` (HTTP to an upstream: errors, timeouts, credentials), ``pypi``
(pages and files), ``cache`` (the cached rows and blobs), ``stats`` (hit/miss/error counts),
``reservations`` (``vouch org reserve``), ``responses`` (what the Simple API routes answer).
"""
