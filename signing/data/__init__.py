"""Pinned Sigstore trust material (see README.md); a package so its *.json ships in wheels."""
