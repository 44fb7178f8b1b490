"""Package data: the OSV JSON schema (see advisories.schema)."""
