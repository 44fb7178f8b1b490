"""Accounts: users, organisations and their members, API tokens and the authenticated principal.

    principal = service.authenticate(session, secret, now=clock.now())

``service`` owns the rules (who may create tokens, who may change an org); ``tokens`` the
secrets (generation, hashing at rest). Routes: ``app/routers/accounts.py``.
"""
