"""Publishing: packages and versions from upload to download.

    published = registry.publish.publish(request, principal)   # publish.py

``publish`` (the publish as named steps: stage, validate, verify, store, record), ``lifecycle``
(unpublish within the 24-hour window, deprecate), ``downloads`` (serving and counting the
bytes), ``blob_refs`` (which versions use which stored bytes, set-aside/purge/restore),
``staging`` (the upload's temporary file), ``sweep`` (orphaned bytes and temporary files),
``documents`` / ``metadata`` (the public version, package and resolution documents),
``reads`` (``PackageReads``: the read routes' one method each, in its own read transaction),
``read_cache`` (their short-lived cache), ``packages`` (lookups), ``ownership`` (who may change
a package), ``names`` / ``versioning`` (package-name and version rules; ``versioning`` is the one
mapping of the ``versions`` library's errors).
"""
