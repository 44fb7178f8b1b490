"""Search, the registry's side: package documents for the index and the outbox handlers.

    handlers = sync.search_handlers(engine, index)   # OutboxWorker applies them

``documents`` builds one search document per package from the database; ``sync`` keeps the
index (the ``search`` library's backends) in step through the outbox; ``errors`` maps the
library's errors to problems for the API; ``service`` (``SearchService``, ``registry.finder``)
answers the search API's routes with the wire models of ``schemas``. A search outage never
fails a publish.
"""
