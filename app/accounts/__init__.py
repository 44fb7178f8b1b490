"""Accounts: users, organisations and their members, API tokens and the authenticated principal.

    principal = service.authenticate(session, secret, now=clock.now())

``service`` owns the rules (who may create tokens, who may change an org) and
``AccountService``, the routes' one method per action (each its own write transaction);
``tokens`` the secrets (generation, hashing at rest). Routes: ``app/routers/accounts.py``.
"""
