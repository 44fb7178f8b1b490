"""Exit 0 if the test PostgreSQL answers; 1 if not. With VOUCH_TEST_REQUIRE_POSTGRES=1 (CI),
an unreachable server is an error (exit 2) instead of a quiet skip."""

from __future__ import annotations

import os
import sys

import psycopg

url = os.environ.get("VOUCH_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
url = url.replace("postgresql+psycopg://", "postgresql://", 1)
try:
    with psycopg.connect(url, connect_timeout=5) as conn:
        conn.execute("SELECT 1")
except psycopg.Error as err:
    if os.environ.get("VOUCH_TEST_REQUIRE_POSTGRES") == "1":
        print(f"PostgreSQL is required (VOUCH_TEST_REQUIRE_POSTGRES=1) but unreachable: {err}",
              file=sys.stderr)
        sys.exit(2)
    sys.exit(1)
sys.exit(0)
