"""OIDC issuers Vouch names by default, as constants that import nothing.

    >>> from signing.issuers import GITHUB_ACTIONS_ISSUER
    >>> GITHUB_ACTIONS_ISSUER
    'https://token.actions.githubusercontent.com'

Settings read this module; `signing.fulcio` (which loads ``cryptography``'s x509, about
10 MiB) re-exports it. `vouch serve`'s master process imports the settings but never
verifies a certificate (issue 13: idle memory).
"""

GITHUB_ACTIONS_ISSUER = "https://token.actions.githubusercontent.com"
