"""Identity: wallet sign-in (SIWE), access tokens, refresh-token families, service tokens.

Users and wallets are plain tables, not event-sourced. The checks are plain functions that
tools and tests can call directly (:func:`verify_sign_in`, :func:`decode_access_token`);
the orchestration (:class:`IdentityService`) depends on ports that ``adapters/`` implements.
"""

from domain.identity.access_tokens import AccessKey, decode_access_token, issue_access_token
from domain.identity.errors import (
    IdentityError,
    RefreshRejected,
    ServiceTokenRejected,
    SignInRejected,
    TokenRejected,
)
from domain.identity.sign_in import read_sign_in_message, sign_in_message, verify_sign_in

__all__ = [
    "AccessKey",
    "IdentityError",
    "RefreshRejected",
    "ServiceTokenRejected",
    "SignInRejected",
    "TokenRejected",
    "decode_access_token",
    "issue_access_token",
    "read_sign_in_message",
    "sign_in_message",
    "verify_sign_in",
]
