"""Profile and report text rules: what a visitor can be shown, and what is refused."""

from __future__ import annotations

import pytest

from domain.clones.errors import InvalidProfile, InvalidReport
from domain.clones.profile import Profile, clean_text
from domain.clones.reports import Report, ReportReason


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("  Alpha  ", "Alpha"),
        ("Al\tpha\x07", "Al pha"),
        ("\u202eahplA\u202c", "ahplA"),  # right-to-left override stripped
        ("zero\u200bwidth", "zerowidth"),
        ("two\nlines", "two lines"),
    ],
)
def test_clean_text_drops_control_and_direction_characters(raw: str, clean: str) -> None:
    assert clean_text(raw) == clean


def test_a_bio_keeps_its_line_breaks() -> None:
    assert clean_text(" a \r\n\n b ", keep_newlines=True) == "a\n\nb"


def test_a_profile_is_cleaned_before_it_is_measured() -> None:
    profile = Profile.submitted("\x00" * 100 + "Alpha", "b" * 500, "https://img.example/a.png")
    assert (profile.name, len(profile.bio)) == ("Alpha", 500)
    assert profile.avatar_url == "https://img.example/a.png"


@pytest.mark.parametrize(
    ("name", "bio", "avatar", "field"),
    [
        ("", "", None, "name"),
        ("x" * 49, "", None, "name"),
        ("ok", "b" * 501, None, "bio"),
        ("ok", "", "http://img.example/a.png", "avatarUrl"),
        ("ok", "", "https://", "avatarUrl"),
        ("ok", "", "https://user:pw@img.example/a.png", "avatarUrl"),
        ("ok", "", "https://img.example/a b.png", "avatarUrl"),
        ("ok", "", "https://img.example/" + "a" * 512, "avatarUrl"),
        ("ok", "", "javascript:alert(1)", "avatarUrl"),
    ],
)
def test_a_profile_breaking_a_rule_names_the_field(
    name: str, bio: str, avatar: str | None, field: str
) -> None:
    with pytest.raises(InvalidProfile) as raised:
        Profile.submitted(name, bio, avatar)
    assert raised.value.field == field


def test_an_empty_avatar_means_none() -> None:
    assert Profile.submitted("ok", "", "  ").avatar_url is None


def test_a_report_takes_a_known_reason_and_a_short_detail() -> None:
    assert Report.submitted("scam", " fake \x00giveaway ") == Report(
        ReportReason.SCAM, "fake giveaway"
    )
    with pytest.raises(InvalidReport):
        Report.submitted("boring", "")
    with pytest.raises(InvalidReport):
        Report.submitted("spam", "d" * 501)
