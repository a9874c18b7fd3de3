"""``clash config check`` and ``CLASH_<NAME>_FILE`` secrets."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from adapters.settings import SecretFileError, load_settings
from api.cli import app
from tests.adapters.test_settings import SAFE_PRODUCTION


def test_development_defaults_are_listed_as_unsafe(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLASH_ENV", "production")  # checked as development loads them

    result = CliRunner().invoke(app, ["config", "check"])

    assert result.exit_code == 1
    assert "unsafe: CLASH_PAYOUT_PRIVATE_KEY uses the development key" in result.output
    assert "CLASH_REFRESH_PEPPER" in result.output


def test_safe_settings_pass_the_check(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in SAFE_PRODUCTION.items():
        monkeypatch.setenv(key, value)

    result = CliRunner().invoke(app, ["config", "check"])

    assert result.exit_code == 0, result.output
    assert "No unsafe settings." in result.output


def test_secrets_come_from_files(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    pepper = tmp_path / "pepper"
    pepper.write_text("a-pepper-from-a-mounted-secret-file-0001\n", encoding="utf-8")
    monkeypatch.setenv("CLASH_REFRESH_PEPPER_FILE", str(pepper))

    settings = load_settings()

    assert settings.refresh_pepper.get_secret_value() == "a-pepper-from-a-mounted-secret-file-0001"


def test_a_secret_file_that_cannot_be_read_or_clashes_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CLASH_REFUND_PRIVATE_KEY_FILE", str(tmp_path / "missing"))
    with pytest.raises(SecretFileError, match="cannot read"):
        load_settings()
    (tmp_path / "key").write_text("0x" + "0" * 63 + "5", encoding="utf-8")
    monkeypatch.setenv("CLASH_REFUND_PRIVATE_KEY_FILE", str(tmp_path / "key"))
    monkeypatch.setenv("CLASH_REFUND_PRIVATE_KEY", "0x" + "0" * 63 + "6")
    with pytest.raises(SecretFileError, match="not both"):
        load_settings()
    result = CliRunner().invoke(app, ["config", "check"])
    assert result.exit_code == 2
