"""Who may write: machines with tokens from `make token` (tokens.py), people with access tokens of the
ministry's OpenID Connect provider (oidc.py), both resolved to one `Principal` (principal.py, resolver.py)."""

from service.core.auth.oidc import OidcConfig, OidcVerifier
from service.core.auth.principal import SEED, Forbidden, Principal, Role, require_admin
from service.core.auth.resolver import AdminDep, PrincipalDep, count_write, current_principal, principal_of
from service.core.auth.tokens import ApiToken, create_token, revoke_token

__all__ = [
    "SEED",
    "AdminDep",
    "ApiToken",
    "Forbidden",
    "OidcConfig",
    "OidcVerifier",
    "Principal",
    "PrincipalDep",
    "Role",
    "count_write",
    "create_token",
    "current_principal",
    "principal_of",
    "require_admin",
    "revoke_token",
]
