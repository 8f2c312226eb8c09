"""Strong identification of a conversation's resident (docs/identification.md).

The modules, from the bottom up (their layers are checked by import-linter):

* :mod:`.identity` — the provider-neutral identity and why an identification failed;
  an OpenID Connect client and a later SAML adapter both produce an :class:`~.identity.Identity`;
* :mod:`.vault` — the identity code encrypted at rest;
* :mod:`.keys` — the service's own keys at the provider (``OIDC_CLIENT_KEY_FILE``);
* :mod:`.client` — the OpenID Connect relying party (Authlib, joserfc);
* :mod:`.service` — tickets, logins bound to a server-side conversation, the stored identity;
* :mod:`.routes` — the resident's start and callback pages.
"""
