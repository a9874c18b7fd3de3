"""Settings: read from CLASH_* variables, validated, unsafe production values refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from adapters.bootstrap import vault_terms
from adapters.settings import Settings, load_settings
from domain.economy.errors import VaultMisconfigured

SAFE_PRODUCTION = {
    "CLASH_ENV": "production",
    "CLASH_DEV_LOGIN_ENABLED": "false",
    "CLASH_JWT_KEYS": '{"p1": {"alg": "HS256", "secret": "production-secret-production-0001"}}',
    "CLASH_JWT_SIGNING_KID": "p1",
    "CLASH_REFRESH_PEPPER": "production-pepper-production-pepper-01",
    "CLASH_MOCK_ENTITLEMENTS": "false",
    "CLASH_VAULT_SIGNER": "0x2B5AD5c4795c026514f8317c7a215E218DcCD6cF",  # key 0x..02
    "CLASH_REFUND_PRIVATE_KEY": "0x" + "0" * 63 + "3",
    "CLASH_PAYOUT_PRIVATE_KEY": "0x" + "0" * 63 + "4",
}


def test_defaults_run_on_embedded_sqlite(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLASH_DATABASE_URL", raising=False)
    monkeypatch.delenv("CLASH_ENV", raising=False)
    settings = Settings()
    assert settings.database_url == "sqlite:///./var/clash.db"
    assert settings.dev_login_available is True


def test_lists_accept_commas_or_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLASH_SIWE_CHAIN_IDS", "1, 8453")
    monkeypatch.setenv("CLASH_CORS_ORIGINS", '["https://app.example"]')
    settings = load_settings()
    assert settings.siwe_chain_ids == [1, 8453]
    assert settings.cors_origins == ["https://app.example"]


def test_safe_production_settings_load(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in SAFE_PRODUCTION.items():
        monkeypatch.setenv(key, value)
    settings = load_settings()
    assert settings.env == "production"
    assert settings.dev_login_available is False


def test_production_names_every_unsafe_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLASH_ENV", "production")
    monkeypatch.setenv("CLASH_CORS_ORIGINS", "*")
    with pytest.raises(ValidationError) as raised:
        load_settings()
    message = str(raised.value)
    for name in (
        "CLASH_JWT_KEYS",
        "CLASH_REFRESH_PEPPER",
        "CLASH_DEV_LOGIN_ENABLED",
        "CLASH_CORS_ORIGINS",
        "CLASH_PAYOUT_PRIVATE_KEY",
    ):
        assert name in message


def test_development_login_never_available_outside_development() -> None:
    assert Settings(env="test").dev_login_available is False


def test_signing_kid_must_be_a_configured_key() -> None:
    with pytest.raises(ValidationError, match="CLASH_JWT_SIGNING_KID"):
        Settings(jwt_signing_kid="missing")


def test_short_hs256_secret_is_refused() -> None:
    with pytest.raises(ValidationError, match="32 characters"):
        Settings(jwt_keys={"k": {"alg": "HS256", "secret": "short"}}, jwt_signing_kid="k")


def test_unknown_database_scheme_is_refused() -> None:
    with pytest.raises(ValidationError, match="CLASH_DATABASE_URL"):
        Settings(database_url="mysql://localhost/db")


def test_schema_in_url_wins_over_setting() -> None:
    settings = Settings(database_url="postgresql://u@h:5432/db?schema=clash", postgres_schema="x")
    assert settings.effective_postgres_schema == "clash"


def test_a_backtest_poll_as_long_as_the_lease_is_refused() -> None:
    with pytest.raises(ValueError, match="CLASH_BACKTEST_CANCEL_POLL_SECONDS"):
        load_settings(backtest_cancel_poll_seconds=60, backtest_lease_ttl_seconds=60)
    assert load_settings(backtest_cancel_poll_seconds=1, backtest_lease_ttl_seconds=2)


def test_economy_settings_have_development_defaults_and_refuse_unsafe_keys() -> None:
    from adapters.settings import DEV_VAULT_SIGNER, Settings, UnsafeSettings

    settings = Settings()
    assert settings.vault_signer == DEV_VAULT_SIGNER
    assert settings.audition_fee_wei["starter"] == str(10**16)
    assert settings.audition_quote_ttl_seconds == 900
    assert settings.refund_authorization_ttl_seconds == 86400
    with pytest.raises(ValueError, match="vault signer's key"):
        Settings(refund_private_key="0x" + "a1" * 32)
    with pytest.raises(ValueError, match="checksummed"):
        Settings(vault_contract="0x5fbdb2315678afecb367f032d93f642f64180aa3")
    with pytest.raises(ValueError, match="positive wei"):
        Settings(audition_fee_wei='{"starter": "0.01"}')
    assert Settings(audition_fee_wei='{"pro": "1"}').audition_fee_wei == {"pro": "1"}
    with pytest.raises(ValidationError) as unsafe:
        Settings(env="production")
    assert UnsafeSettings.__name__
    assert "CLASH_REFUND_PRIVATE_KEY" in str(unsafe.value)
    assert "CLASH_VAULT_SIGNER" in str(unsafe.value)


def test_a_routed_model_without_a_price_is_unsafe_once_budgets_are_set() -> None:
    routes = {"standard": [{"provider": "openai-compatible", "model": "gpt-4o-mini"}]}
    budgets = '{"global": {"daily_usd": "25"}}'
    price = '{"gpt-4o-mini": {"input_per_million_usd": "0.15", "output_per_million_usd": "0.6"}}'

    url = "https://models.example/v1"
    unbudgeted = Settings(model_routes=routes, openai_base_url=url).unsafe_for_production()
    unpriced = Settings(model_routes=routes, openai_base_url=url, model_budgets=budgets)
    priced = Settings(
        model_routes=routes, openai_base_url=url, model_budgets=budgets, model_prices=price
    )

    assert not [p for p in unbudgeted if "CLASH_MODEL_PRICES" in p]
    assert "CLASH_MODEL_PRICES has no price for gpt-4o-mini" in " ".join(
        unpriced.unsafe_for_production()
    )
    assert not [p for p in priced.unsafe_for_production() if "CLASH_MODEL_PRICES" in p]


def test_the_payout_key_is_neither_the_vault_signers_nor_the_refund_key() -> None:
    with pytest.raises(VaultMisconfigured):
        vault_terms(Settings(payout_private_key="0x" + "b2" * 32))  # the refund key


def test_scheduled_backups_go_beside_the_sqlite_file_unless_told() -> None:
    sqlite = Settings(database_url="sqlite:////srv/clash/clash.db")
    postgres = Settings(database_url="postgresql://u@h:5432/d")
    told = Settings(database_url="sqlite:////srv/clash/clash.db", backup_dir="/backups")

    assert sqlite.effective_backup_dir == Path("/srv/clash/backups")
    assert postgres.effective_backup_dir == Path("var/backups")
    assert told.effective_backup_dir == Path("/backups")
