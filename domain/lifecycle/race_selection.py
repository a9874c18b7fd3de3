"""Which Arena members race: ``hashed_rotation``, documented and reproducible.

Each candidate (an Arena member's entry id) is keyed by ``sha256("<race id>|<entry id>")``;
the ``entrants`` lowest keys race. The race id derives from its cadence slot, so anyone can
recompute a race's field from the candidates recorded on it; over many slots every member
is drawn about equally often, with no member favoured by when it joined or how it scored.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from uuid import UUID


def hashed_rotation(race_id: UUID, candidates: Iterable[str], entrants: int) -> list[str]:
    """The chosen entry ids, in key order."""
    keyed = sorted(
        candidates, key=lambda entry: hashlib.sha256(f"{race_id}|{entry}".encode()).hexdigest()
    )
    return keyed[:entrants]
