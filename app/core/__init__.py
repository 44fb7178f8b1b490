"""The small core every domain shares: settings, database, clock, errors, limits, outbox.

``config`` (Settings), ``db`` (engine, sessions, migrations), ``db_errors`` (driver errors ->
domain errors), ``models`` (the tables), ``clock``, ``errors`` (the error table: every code,
its status, its meaning), ``problems`` (problem+json at the HTTP edge), ``limits`` /
``input_guards`` / ``slow_clients`` (hostile input before anything parses), ``readiness``,
``durations``, ``records`` (audit events and outbox rows), ``audit_log`` (reading the audit
log) and ``worker`` (the outbox worker).
"""
