"""A clone's public profile and the text rules shared by names, bios and report details.

Profiles are published the moment they are submitted (moderation is report-based, not
pre-approval), so the rules here are the whole gate between a user's text and every
visitor's screen. Text is cleaned before it is measured: control characters go (a bio keeps
its line breaks), and so do the bidirectional overrides and isolates that can make a name
read as someone else's. An avatar is an ``https`` URL with a host and no credentials.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from domain.clones.errors import InvalidProfile

NAME_MAX = 48
BIO_MAX = 500
AVATAR_URL_MAX = 512
# Bidirectional embeddings, overrides and isolates (spoofing), and zero-width spaces.
_INVISIBLE = frozenset(
    "\u200b\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff"
)
_SPACES = re.compile(r"[^\S\n]+")


def clean_text(value: str, *, keep_newlines: bool = False) -> str:
    """Drop invisible direction characters, turn control characters into spaces (a bio
    keeps its line breaks), squeeze runs of spaces and trim every line."""
    chars = (
        ch if unicodedata.category(ch) != "Cc" or (keep_newlines and ch == "\n") else " "
        for ch in value
        if ch not in _INVISIBLE
    )
    lines = "".join(chars).split("\n")
    return "\n".join(_SPACES.sub(" ", line).strip() for line in lines).strip()


def name_fits(name: str) -> bool:
    """Whether a cleaned name has 1 to 48 characters (clone names and profile names)."""
    return 1 <= len(name) <= NAME_MAX


def clean_avatar_url(value: str | None) -> str | None:
    """An https URL of at most 512 characters with a host and no credentials, or ``None``."""
    if value is None or not value.strip():
        return None
    url = value.strip()
    if len(url) > AVATAR_URL_MAX:
        raise InvalidProfile("avatarUrl", f"length={len(url)} must be at most {AVATAR_URL_MAX}")
    try:
        parts = urlsplit(url)
    except ValueError:
        raise InvalidProfile("avatarUrl", "is not a URL") from None
    if parts.scheme != "https" or not parts.hostname:
        raise InvalidProfile("avatarUrl", "must be an https URL with a host")
    if "@" in parts.netloc or any(ch.isspace() or unicodedata.category(ch) == "Cc" for ch in url):
        raise InvalidProfile("avatarUrl", "must not carry credentials, spaces or control codes")
    return url


@dataclass(frozen=True)
class Profile:
    """A clean public profile: display name, bio and avatar."""

    name: str
    bio: str
    avatar_url: str | None

    @classmethod
    def submitted(cls, name: str, bio: str, avatar_url: str | None) -> Profile:
        """Clean and check what a user submitted (raise :class:`InvalidProfile`)."""
        clean_bio = clean_text(bio, keep_newlines=True)
        if len(clean_bio) > BIO_MAX:
            raise InvalidProfile("bio", f"length={len(clean_bio)} must be at most {BIO_MAX}")
        clean_name = clean_text(name)
        if not name_fits(clean_name):
            raise InvalidProfile("name", f"length={len(clean_name)} must be 1..{NAME_MAX}")
        return cls(clean_name, clean_bio, clean_avatar_url(avatar_url))

    def to_document(self) -> dict[str, Any]:
        """The profile as stored on events and in clone state."""
        return {"name": self.name, "bio": self.bio, "avatar_url": self.avatar_url}
