"""Trust: who may sign for a package, and checking that they did.

    verification = checker.prepare(session, ctx)   # signatures.py; then verification()
    registry.trust.add_publisher(principal, body)  # service.py: the trust API's actions

``service`` (``TrustService``: the trust configuration routes' one method per action, each
in its own transaction, and the rule that policy ``none`` is for development only),
``publisher_rules`` (whether a trusted publisher acts for its registrant now, pending
publishers), ``configuration`` (registering publishers and setting a package's signature
policy), ``gpg_keys`` (registered keys and proof of possession), ``signatures`` (which rule
applies to a package), ``verifier`` (the cryptography, over ``signing``), ``rekor_check``
(online transparency-log lookups), ``oidc_exchange`` (OIDC token -> minted API token),
``identities`` (a publisher row -> its ``signing.policy`` identity: the one match publish and
the OIDC exchange use), ``errors`` (the domain's errors and the one mapping of
``signing.errors``), ``schemas`` (the wire models: OIDC exchange, publishers, GPG keys,
policies), ``evidence`` (the types), ``pending_policies`` (a policy set before the first
version). The identity rules themselves are ``signing/policy.py``.
"""
