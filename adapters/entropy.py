"""Unguessable values from the operating system (``secrets``), behind the ``Entropy`` port."""

from __future__ import annotations

import secrets


class SystemEntropy:
    """Cryptographically strong randomness."""

    def token(self, nbytes: int) -> str:
        """Return a URL-safe random string carrying ``nbytes`` of entropy."""
        return secrets.token_urlsafe(nbytes)

    def hex(self, nbytes: int) -> str:
        """Return ``nbytes`` random bytes as lowercase hex."""
        return secrets.token_hex(nbytes)
