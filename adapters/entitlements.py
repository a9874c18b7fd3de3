"""The ``Entitlements`` port of the clones module, served by the economy module.

A clone's effective tier is what the economy granted it. Local development and the legacy
clone paths have no payment flow, so with ``mock_starter`` on (``CLASH_MOCK_ENTITLEMENTS``,
the development default, refused in production) a clone without a grant gets the weakest
tier of the table ("starter" by default) as a grant marked ``mock=True`` with source
``mock``: the API shows that flag wherever the grant appears, so nobody mistakes it for a
purchase. A real grant always wins over the mock.
"""

from __future__ import annotations

from uuid import UUID

from domain.clones.tiers import Grant
from domain.economy.application import Economy

MOCK_SOURCE = "mock"


class EntitlementPort:
    """Effective tiers from the economy, with the optional mock Starter fallback."""

    def __init__(self, economy: Economy, *, mock_starter: bool) -> None:
        self.economy = economy
        self.mock_starter = mock_starter

    def effective_tier(self, clone_id: UUID) -> Grant | None:
        """The economy's grant, else the mock Starter grant when mocking, else ``None``."""
        granted = self.economy.effective_tier(clone_id)
        if granted is not None or not self.mock_starter:
            return granted
        return Grant(self.economy.tiers.names[0], source=MOCK_SOURCE, mock=True)
