"""Accounts: users, organisations and their members, API tokens and the authenticated principal.

    principal = service.authenticate(session, secret, now=clock.now())

``service`` owns the rules (who may create tokens, who may change an org) and
``AccountService``, the routes' one method per action (each in its own transaction, answering
the wire models of ``schemas``); ``tokens`` the secrets (generation, hashing at rest);
``token_gate`` refuses a bad bearer token before routing. Routes: ``app/routers/accounts.py``.
"""
