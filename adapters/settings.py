"""One validated settings object, read from ``CLASH_*`` environment variables.

Settings are read once, in ``bootstrap()``, never at import. Development defaults let a
fresh checkout run with no configuration at all; ``CLASH_ENV=production`` refuses to start
while any of those defaults would be unsafe (the development JWT secret or refresh pepper,
the development login, a wildcard CORS origin), naming every offending variable at once.

List settings accept either JSON (``["a","b"]``) or a comma-separated string (``a,b``).
JWT keys are a JSON object ``{"kid": {"alg": "HS256", "secret": "..."}}`` or, for EdDSA,
``{"kid": {"alg": "EdDSA", "private_key": "PEM", "public_key": "PEM"}}``; the signing key
is ``CLASH_JWT_SIGNING_KID`` and every other key still verifies until removed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import parse_qs, urlsplit

from eth_account import Account
from eth_utils.address import is_checksum_address
from pydantic import (
    BaseModel,
    Field,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from adapters.model_cost_settings import (
    ModelBudgetsSetting,
    ModelPriceSetting,
    decimal_json,
    price_book,
)
from domain.clones.tiers import TierTable, TierTableInvalid
from domain.lifecycle.audition_rules import AuditionError, AuditionRuleBook
from domain.lifecycle.race_config import RaceConfig
from domain.trading.spec import MODEL_TIERS

DEV_JWT_SECRET = "dev-only-jwt-secret-do-not-use-in-production-0123456789"
DEV_REFRESH_PEPPER = "dev-only-refresh-pepper-do-not-use-in-production-012345"
DEFAULT_DATABASE_URL = "sqlite:///./var/clash.db"
# SignedVault development deployment: fixed, publicly known test keys (DEVELOPMENT ONLY; the
# vault signer's key is "0x" + "a1" * 32, the refund key "0x" + "b2" * 32). Production
# refuses the development refund key and vault signer.
DEV_VAULT_CHAIN_ID = 84532
DEV_VAULT_CONTRACT = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
DEV_VAULT_SIGNER = "0x5d5c99EdF529335160FF180fA141Dd4967fc00D2"
DEV_REFUND_PRIVATE_KEY = "0x" + "b2" * 32
DEV_PAYOUT_PRIVATE_KEY = "0x" + "f6" * 32
DEFAULT_AUDITION_FEES_WEI = {
    "starter": str(10**16),  # 0.01 ETH
    "builder": str(3 * 10**16),  # 0.03 ETH
    "pro": str(8 * 10**16),  # 0.08 ETH
}
DEFAULT_AUDITION_RETRIES = {"starter": 0, "builder": 1, "pro": 2}


class UnsafeSettings(ValueError):
    """Raised when production settings keep a development default."""


class JwtKeySetting(BaseModel):
    """One JWT key: HS256 with a shared secret, or EdDSA with a PEM key pair."""

    alg: Literal["HS256", "EdDSA"]
    secret: SecretStr | None = None
    private_key: SecretStr | None = None
    public_key: str | None = None

    @model_validator(mode="after")
    def _material_matches_alg(self) -> JwtKeySetting:
        if self.alg == "HS256" and (
            self.secret is None or len(self.secret.get_secret_value()) < 32
        ):
            raise ValueError("an HS256 key needs a secret of at least 32 characters")
        if self.alg == "EdDSA" and not self.public_key:
            raise ValueError("an EdDSA key needs public_key (and private_key to sign)")
        return self


class ModelRouteSetting(BaseModel):
    """One route of a model tier (see ``adapters.model_router.Route``)."""

    provider: Literal["rules", "openai-compatible"]
    model: str = Field(min_length=1)
    timeout_seconds: float = Field(default=20.0, gt=0, le=300)
    retries: int = Field(default=1, ge=0, le=5)


def _rules_everywhere() -> dict[str, list[ModelRouteSetting]]:
    return {tier: [ModelRouteSetting(provider="rules", model="rules")] for tier in MODEL_TIERS}


def _split_list(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            return json.loads(text)
        return [part.strip() for part in text.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    """Every setting of the service, validated at start-up."""

    model_config = SettingsConfigDict(env_prefix="CLASH_", extra="ignore", frozen=True)

    env: Literal["development", "test", "production"] = "development"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    log_level: str = "INFO"
    log_json: bool = True

    database_url: str = DEFAULT_DATABASE_URL
    postgres_schema: str = Field(default="public", pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    db_pool_size: int = Field(default=4, ge=1, le=40)
    db_pool_max_overflow: int = Field(default=6, ge=0, le=40)
    db_pool_timeout_seconds: float = Field(default=10.0, gt=0)
    db_connect_timeout_seconds: int = Field(default=5, ge=2, le=60)  # libpq: whole seconds, 2+
    sqlite_lock_timeout_seconds: int = Field(default=15, ge=1)
    db_application_name: str = Field(default="clash", pattern=r"^[A-Za-z0-9_.:-]{1,63}$")

    jwt_issuer: str = "clash-of-clones"
    jwt_audience: str = "clash-api"
    jwt_signing_kid: str = "dev"
    jwt_keys: dict[str, JwtKeySetting] = Field(
        default_factory=lambda: {
            "dev": JwtKeySetting(alg="HS256", secret=SecretStr(DEV_JWT_SECRET))
        }
    )
    access_token_ttl_seconds: int = Field(default=900, ge=30, le=3600)
    token_leeway_seconds: int = Field(default=30, ge=0, le=60)
    refresh_pepper: SecretStr = SecretStr(DEV_REFRESH_PEPPER)
    refresh_idle_ttl_seconds: int = Field(default=7 * 86400, ge=60)
    refresh_absolute_ttl_seconds: int = Field(default=30 * 86400, ge=60)
    refresh_grace_seconds: int = Field(default=10, ge=0, le=60)
    # The stored JWT keyring (docs/keys.md): how often a process reloads it, and how long
    # a rotated key is announced (known to every verifier) before it signs.
    jwt_keyring_refresh_seconds: int = Field(default=30, ge=1, le=600)
    jwt_rotation_announce_seconds: int = Field(default=120, ge=2, le=86400)

    siwe_domain: str = "localhost:8000"
    siwe_uri: str = "http://localhost:8000/login"
    siwe_statement: str = "Sign in to Clash of Clones."
    siwe_chain_ids: Annotated[list[int], NoDecode] = Field(default_factory=lambda: [1, 8453, 84532])
    siwe_nonce_ttl_seconds: int = Field(default=600, ge=30, le=3600)
    siwe_clock_skew_seconds: int = Field(default=60, ge=0, le=300)
    eip1271_rpc_url: str | None = None

    admin_addresses: Annotated[list[str], NoDecode] = Field(default_factory=list)
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["http://localhost:3000"]
    )
    dev_login_enabled: bool = True
    auth_rate_limit_per_ip: str = "60/minute"
    auth_rate_limit_per_address: str = "20/minute"

    run_workers: bool = True
    worker_lease_ttl_seconds: int = Field(default=30, ge=1)
    worker_max_attempts: int = Field(default=5, ge=1)
    # Background reconciliation (docs/workers.md): every audit once per this much service time.
    reconciliation_interval_seconds: int = Field(default=3600, ge=60)
    # Scheduled backups (docs/backups.md): 0 turns the backups worker off.
    backup_interval_seconds: int = Field(default=86400, ge=0)
    backup_dir: str | None = None
    backup_retention_days: int = Field(default=7, ge=1)
    # Alerts (docs/workers.md): where the in-process alert evaluator posts (unset: logs only).
    alert_webhook_url: str | None = None
    worker_backoff_base_seconds: float = Field(default=1.0, gt=0)
    worker_backoff_max_seconds: float = Field(default=300.0, gt=0)
    worker_shutdown_grace_seconds: float = Field(default=10.0, gt=0)
    worker_stale_after_seconds: int = Field(default=900, ge=5)

    market_mode: Literal["replay", "live"] = "replay"
    replay_speed: float = Field(default=60.0, gt=0, le=1_000_000)
    market_assets: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["BTC", "ETH", "SOL"]
    )
    taker_fee_rate: Decimal = Field(default=Decimal("0.00045"), ge=0, le=Decimal("0.01"))
    maker_fee_rate: Decimal = Field(default=Decimal("0.00015"), ge=0, le=Decimal("0.01"))
    min_order_notional_usdc: Decimal = Field(default=Decimal("10"), gt=0)
    hyperliquid_url: str = "https://api.hyperliquid.xyz"
    polymarket_gamma_url: str = "https://gamma-api.polymarket.com"
    polymarket_clob_url: str = "https://clob.polymarket.com"
    defillama_url: str = "https://api.llama.fi"
    defillama_yields_url: str = "https://yields.llama.fi"
    source_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    source_max_attempts: int = Field(default=4, ge=1, le=10)
    polymarket_market_slugs: Annotated[list[str], NoDecode] = Field(default_factory=list)
    defillama_protocols: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["aave", "lido"]
    )
    defillama_chains: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["Ethereum", "Solana"]
    )

    # Entitlement tiers: a JSON list of tier objects overriding DEFAULT_TIERS (docs/clones.md).
    tier_table: list[dict[str, Any]] | None = None
    mock_entitlements: bool = True

    # Model routing: JSON {"tier": [{"provider", "model", "timeout_seconds", "retries"}]};
    # a tier left out routes to ``rules``, so nothing needs the network by default.
    model_routes: dict[str, list[ModelRouteSetting]] = Field(default_factory=_rules_everywhere)
    openai_base_url: str | None = None
    openai_api_key: SecretStr | None = None
    openai_json_mode: Literal["json_schema", "json_object", "none"] = "json_schema"
    # Model cost (docs/model-usage.md): USD per million tokens by route model name, and
    # daily budgets (global, per clone by tier) with the share that raises a soft alert.
    model_prices: Annotated[dict[str, ModelPriceSetting], NoDecode] = Field(default_factory=dict)
    model_budgets: Annotated[ModelBudgetsSetting, NoDecode] = Field(
        default_factory=ModelBudgetsSetting
    )

    # Decision artifacts (context, prompt, response): a directory (default: ``artifacts``
    # beside the SQLite file, else ``./var/artifacts``) and how many days they are kept.
    artifact_dir: str | None = None
    artifact_retention_days: int = Field(default=30, ge=1, le=3650)

    # Backtests (docs/backtests.md): concurrency limits, the worker's lease (renewed while a
    # run lasts), how long a job may wait queued, how often a run polls for a cancel, how
    # long per-decision detail is kept, and the paper collateral every run starts with.
    backtest_max_concurrent: int = Field(default=4, ge=1, le=1000)
    backtest_max_concurrent_per_user: int = Field(default=1, ge=1, le=1000)
    backtest_lease_ttl_seconds: int = Field(default=60, ge=1)
    backtest_queue_ttl_seconds: int = Field(default=3600, ge=1)
    backtest_cancel_poll_seconds: float = Field(default=1.0, ge=0)
    backtest_artifact_retention_days: int = Field(default=30, ge=1, le=3650)
    backtest_collateral_usdc: Decimal = Field(default=Decimal(10_000), gt=0)

    # Economy (docs/economy.md): the SignedVault deployment, the refund key (never the vault
    # signer's), audition fees per tier (JSON map of integer wei strings), retries per tier
    # (an audition purchase grants 1 + retries attempts) and how long quotes and refund
    # authorisations live.
    vault_chain_id: int = Field(default=DEV_VAULT_CHAIN_ID, gt=0)
    vault_contract: str = DEV_VAULT_CONTRACT
    vault_signer: str = DEV_VAULT_SIGNER
    refund_private_key: SecretStr = SecretStr(DEV_REFUND_PRIVATE_KEY)
    payout_private_key: SecretStr = SecretStr(DEV_PAYOUT_PRIVATE_KEY)
    audition_fee_wei: dict[str, str] = Field(
        default_factory=lambda: dict(DEFAULT_AUDITION_FEES_WEI)
    )
    audition_retries: dict[str, int] = Field(default_factory=lambda: dict(DEFAULT_AUDITION_RETRIES))
    audition_quote_ttl_seconds: int = Field(default=900, ge=60, le=86400)
    refund_authorization_ttl_seconds: int = Field(default=86400, ge=300, le=90 * 86400)
    # Optional on-chain confirmation (docs/economy.md): with a node URL, a fee is recorded
    # only once the vault contract shows it, ``vault_confirmations`` blocks deep.
    vault_rpc_url: str | None = None
    vault_confirmations: int = Field(default=3, ge=1, le=256)

    # Lifecycle (docs/auditions.md): audition rules per tier, overlaid on the FTMO-style
    # defaults (JSON {"tier": {"field": value}}); retries always come from audition_retries.
    audition_rules: dict[str, dict[str, Any]] = Field(default_factory=dict)

    # Arena (docs/arena.md): how many slots, how often the arena worker admits (market
    # time), and the paper collateral of each member's arena account.
    arena_capacity: int = Field(default=8, ge=0, le=1000)
    arena_cadence_seconds: int = Field(default=300, ge=1)
    arena_collateral_usdc: Decimal = Field(default=Decimal(10_000), gt=0)

    # Races (docs/races.md): one race per cadence slot of market time among the Arena's
    # active members; the rest is frozen on each race when it is scheduled. The cadence
    # must cover a whole race (ticket window + launch gap + duration): races never overlap.
    race_cadence_seconds: int = Field(default=4 * 3600, ge=60)
    race_entrants: int = Field(default=4, ge=2, le=64)
    race_min_entrants: int = Field(default=2, ge=2, le=64)
    race_ticket_window_seconds: int = Field(default=1800, ge=0)
    race_launch_gap_seconds: int = Field(default=300, ge=0)
    race_duration_seconds: int = Field(default=7200, ge=300)
    race_retention_seconds: int = Field(default=7 * 86400, ge=0)
    race_collateral_usdc: Decimal = Field(default=Decimal(10_000), gt=0)
    race_rake_rate: Decimal = Field(default=Decimal("0.05"), ge=0, lt=1)
    race_creator_rate: Decimal = Field(default=Decimal("0.05"), ge=0, lt=1)
    race_rank_weights: list[int] = Field(default_factory=lambda: [3, 2, 1])
    race_strike_rule: Literal["last_place", "drawdown_over"] = "last_place"
    race_strike_drawdown: Decimal = Field(default=Decimal("0.20"), gt=0, le=1)
    race_strikes_to_retire: int = Field(default=3, ge=1, le=100)
    # Market time past a race's next step after which /health/workers calls it overdue.
    race_overdue_after_seconds: int = Field(default=900, ge=60)
    # Race tickets (docs/settlement.md): stake bounds and a per-user cap per race, in wei
    # (decimal strings), and how long a ticket quote can be paid.
    ticket_min_stake_wei: int = Field(default=10**15, gt=0)
    ticket_max_stake_wei: int = Field(default=10**19, gt=0)
    ticket_user_cap_wei: int = Field(default=5 * 10**19, gt=0)
    ticket_quote_ttl_seconds: int = Field(default=600, ge=30, le=86400)
    hall_of_fame_min_races: int = Field(default=5, ge=1)
    hall_of_fame_min_podiums: int = Field(default=1, ge=0)

    @field_validator(
        "audition_fee_wei", "audition_retries", "audition_rules", "race_rank_weights", mode="before"
    )
    @classmethod
    def _economy_json(cls, value: Any) -> Any:
        return json.loads(value) if isinstance(value, str) else value

    @field_validator("audition_fee_wei")
    @classmethod
    def _fees(cls, value: dict[str, str]) -> dict[str, str]:
        for tier, amount in value.items():
            if not amount.isdigit() or int(amount) <= 0 or int(amount) >= 2**256:
                raise ValueError(f"CLASH_AUDITION_FEE_WEI[{tier}] must be a positive wei integer")
        return value

    @field_validator("audition_retries")
    @classmethod
    def _retries(cls, value: dict[str, int]) -> dict[str, int]:
        if any(not 0 <= count <= 10 for count in value.values()):
            raise ValueError("CLASH_AUDITION_RETRIES must be 0..10 per tier")
        return value

    @field_validator("vault_contract", "vault_signer")
    @classmethod
    def _checksummed(cls, value: str) -> str:
        if not is_checksum_address(value):
            raise ValueError(f"{value!r} must be an EIP-55 checksummed address")
        return value

    @model_validator(mode="after")
    def _refund_key_is_not_the_vault_signer(self) -> Settings:
        try:
            refund_signer = Account.from_key(self.refund_private_key.get_secret_value()).address
        except Exception:
            raise ValueError("CLASH_REFUND_PRIVATE_KEY is not a secp256k1 private key") from None
        if refund_signer.lower() == self.vault_signer.lower():
            raise ValueError("CLASH_REFUND_PRIVATE_KEY must not be the vault signer's key")
        return self

    @field_validator(
        "siwe_chain_ids",
        "admin_addresses",
        "cors_origins",
        "market_assets",
        "polymarket_market_slugs",
        "defillama_protocols",
        "defillama_chains",
        mode="before",
    )
    @classmethod
    def _lists(cls, value: Any) -> Any:
        return _split_list(value)

    @model_validator(mode="after")
    def _race_settings_fit(self) -> Settings:
        try:
            config = self.race_config
        except AuditionError as exc:
            raise ValueError(f"CLASH_RACE_*: {exc}") from None
        whole = config.ticket_window + config.launch_gap + config.duration
        if whole.total_seconds() > self.race_cadence_seconds:
            raise ValueError("CLASH_RACE_CADENCE_SECONDS must cover a whole race")
        return self

    @model_validator(mode="after")
    def _audition_rules_cover_the_fees(self) -> Settings:
        try:
            self.audition_rule_book.require_tiers(self.audition_fee_wei)
        except AuditionError as exc:
            raise ValueError(f"CLASH_AUDITION_RULES: {exc}") from None
        return self

    @field_validator("tier_table")
    @classmethod
    def _tier_table(cls, value: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
        if value is not None:
            try:
                TierTable.from_document(value)
            except TierTableInvalid as exc:
                raise ValueError(f"CLASH_TIER_TABLE: {exc}") from None
        return value

    @field_validator("jwt_keys", mode="before")
    @classmethod
    def _keys_json(cls, value: Any) -> Any:
        return json.loads(value) if isinstance(value, str) else value

    @field_validator("model_routes", mode="before")
    @classmethod
    def _routes_json(cls, value: Any) -> Any:
        return json.loads(value) if isinstance(value, str) else value

    @field_validator("model_routes")
    @classmethod
    def _routes_per_tier(
        cls, value: dict[str, list[ModelRouteSetting]]
    ) -> dict[str, list[ModelRouteSetting]]:
        unknown = sorted(set(value) - set(MODEL_TIERS))
        if unknown:
            raise ValueError(f"CLASH_MODEL_ROUTES names unknown tiers {unknown}")
        if any(not routes for routes in value.values()):
            raise ValueError("CLASH_MODEL_ROUTES gives a tier no route")
        return {**_rules_everywhere(), **value}

    @field_validator("model_prices", "model_budgets", mode="before")
    @classmethod
    def _model_cost_json(cls, value: Any, info: ValidationInfo) -> Any:
        return decimal_json(value, f"CLASH_{str(info.field_name).upper()}")

    @model_validator(mode="after")
    def _budget_tiers_known(self) -> Settings:
        unknown = sorted(set(self.model_budgets.tiers) - set(self.tiers.names))
        if unknown:
            raise ValueError(
                f"CLASH_MODEL_BUDGETS names tiers {unknown} that are not in the tier table"
                f" {list(self.tiers.names)}"
            )
        return self

    @model_validator(mode="after")
    def _model_routes_reachable(self) -> Settings:
        for tier, routes in self.model_routes.items():
            if not self.openai_base_url and any(
                route.provider == "openai-compatible" for route in routes
            ):
                raise ValueError(
                    f"CLASH_MODEL_ROUTES routes tier {tier} to openai-compatible,"
                    " which needs CLASH_OPENAI_BASE_URL"
                )
        return self

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        if self.jwt_signing_kid not in self.jwt_keys:
            raise ValueError(
                f"CLASH_JWT_SIGNING_KID={self.jwt_signing_kid} is not in CLASH_JWT_KEYS"
            )
        if self.jwt_rotation_announce_seconds < 2 * self.jwt_keyring_refresh_seconds:
            raise ValueError(
                "CLASH_JWT_ROTATION_ANNOUNCE_SECONDS must be at least twice"
                " CLASH_JWT_KEYRING_REFRESH_SECONDS (every process must know a key before it signs)"
            )
        if self.worker_backoff_max_seconds < self.worker_backoff_base_seconds:
            raise ValueError("CLASH_WORKER_BACKOFF_MAX_SECONDS must be >= the base")
        if self.refresh_absolute_ttl_seconds < self.refresh_idle_ttl_seconds:
            raise ValueError("CLASH_REFRESH_ABSOLUTE_TTL_SECONDS must be >= the idle TTL")
        if self.backtest_cancel_poll_seconds >= self.backtest_lease_ttl_seconds:
            raise ValueError(
                "CLASH_BACKTEST_CANCEL_POLL_SECONDS must be below CLASH_BACKTEST_LEASE_TTL_SECONDS"
                " (each poll renews the backtest worker's lease)"
            )
        if not self.database_url.startswith(("sqlite:///", "postgresql://", "postgres://")):
            raise ValueError("CLASH_DATABASE_URL must start with sqlite:/// or postgresql://")
        if self.env == "production":
            problems = self.unsafe_for_production()
            if problems:
                raise UnsafeSettings("unsafe production settings: " + "; ".join(problems))
        return self

    def unsafe_for_production(self) -> list[str]:
        """List the settings that keep a development default."""
        problems = []
        for kid, key in self.jwt_keys.items():
            if key.secret is not None and key.secret.get_secret_value() == DEV_JWT_SECRET:
                problems.append(f"CLASH_JWT_KEYS[{kid}] uses the development secret")
        if self.refresh_pepper.get_secret_value() == DEV_REFRESH_PEPPER:
            problems.append("CLASH_REFRESH_PEPPER uses the development pepper")
        if self.dev_login_enabled:
            problems.append("CLASH_DEV_LOGIN_ENABLED must be false")
        if "*" in self.cors_origins:
            problems.append("CLASH_CORS_ORIGINS must not contain *")
        if self.mock_entitlements:
            problems.append("CLASH_MOCK_ENTITLEMENTS must be false")
        if self.refund_private_key.get_secret_value() == DEV_REFUND_PRIVATE_KEY:
            problems.append("CLASH_REFUND_PRIVATE_KEY uses the development key")
        if self.vault_signer == DEV_VAULT_SIGNER:
            problems.append("CLASH_VAULT_SIGNER is the development signer")
        if self.payout_private_key.get_secret_value() == DEV_PAYOUT_PRIVATE_KEY:
            problems.append("CLASH_PAYOUT_PRIVATE_KEY uses the development key")
        return problems + self._unpriced_budgeted_models()

    def _unpriced_budgeted_models(self) -> list[str]:
        """Routed models without a price while budgets are set: their spend counts as nothing."""
        budgets = self.model_budgets
        if budgets.global_budget is None and not budgets.tiers:
            return []
        book = price_book(self.model_prices)
        routes = (route for tier in self.model_routes.values() for route in tier)
        unpriced = sorted({r.model for r in routes if book.price(r.provider, r.model) is None})
        return [
            f"CLASH_MODEL_PRICES has no price for {model}, so CLASH_MODEL_BUDGETS never counts"
            " its spend"
            for model in unpriced
        ]

    @property
    def dev_login_available(self) -> bool:
        """Whether ``POST /v1/auth/dev/login`` exists in this process."""
        return self.env == "development" and self.dev_login_enabled

    @property
    def tiers(self) -> TierTable:
        """The entitlement tier table: ``CLASH_TIER_TABLE`` when set, else the defaults."""
        return TierTable() if self.tier_table is None else TierTable.from_document(self.tier_table)

    @property
    def audition_rule_book(self) -> AuditionRuleBook:
        """Audition rules per tier: the overlay on the defaults, retries per the fee rules."""
        book = AuditionRuleBook.from_document(self.audition_rules)
        return AuditionRuleBook(
            {
                tier: replace(rules, retries=self.audition_retries.get(tier, 0))
                for tier, rules in ((t, book.get(t)) for t in book.tiers)
            }
        )

    @property
    def race_config(self) -> RaceConfig:
        """The configuration new races are scheduled with."""
        return RaceConfig(
            entrants=self.race_entrants,
            min_entrants=self.race_min_entrants,
            ticket_window=timedelta(seconds=self.race_ticket_window_seconds),
            launch_gap=timedelta(seconds=self.race_launch_gap_seconds),
            duration=timedelta(seconds=self.race_duration_seconds),
            retention=timedelta(seconds=self.race_retention_seconds),
            collateral_micros=int(self.race_collateral_usdc * 1_000_000),
            rake_rate=self.race_rake_rate,
            creator_rate=self.race_creator_rate,
            rank_weights=tuple(self.race_rank_weights),
            strike_rule=self.race_strike_rule,
            strike_drawdown=self.race_strike_drawdown,
            strikes_to_retire=self.race_strikes_to_retire,
        )

    @property
    def is_postgres(self) -> bool:
        """Whether the store is PostgreSQL (else the embedded SQLite file)."""
        return self.database_url.startswith(("postgresql://", "postgres://"))

    @property
    def effective_artifact_dir(self) -> Path:
        """Where decision artifacts are written."""
        if self.artifact_dir:
            return Path(self.artifact_dir)
        if self.is_postgres:
            return Path("var/artifacts")
        return Path(self.sqlite_path.split("?")[0]).parent / "artifacts"

    @property
    def effective_backup_dir(self) -> Path:
        """Where scheduled backups are written: ``backups`` beside the SQLite file, else
        ``./var/backups``."""
        if self.backup_dir:
            return Path(self.backup_dir)
        if self.is_postgres:
            return Path("var/backups")
        return Path(self.sqlite_path.split("?")[0]).parent / "backups"

    @property
    def sqlite_path(self) -> str:
        """The SQLite file path of a ``sqlite:///`` URL."""
        return self.database_url.removeprefix("sqlite:///")

    @property
    def effective_postgres_schema(self) -> str:
        """The schema from ``?schema=`` in the URL, else ``CLASH_POSTGRES_SCHEMA``."""
        query = parse_qs(urlsplit(self.database_url).query)
        return query.get("schema", [self.postgres_schema])[0]


# Settings that may come from a file named by ``CLASH_<NAME>_FILE`` (a mounted secret),
# so a secret never has to sit in the environment itself.
FILE_SECRETS = (
    "jwt_keys",
    "refresh_pepper",
    "refund_private_key",
    "payout_private_key",
    "openai_api_key",
    "database_url",
)


class SecretFileError(ValueError):
    """Raised when ``CLASH_<NAME>_FILE`` names a file that cannot be read, or clashes."""


def load_settings(**overrides: Any) -> Settings:
    """Read settings from the environment (and ``*_FILE`` secrets), explicit overrides winning."""
    return Settings(**{**file_secrets(os.environ), **overrides})


def file_secrets(environ: Mapping[str, str]) -> dict[str, str]:
    """The values of the ``CLASH_<NAME>_FILE`` variables set, read from their files."""
    found = {}
    for name in FILE_SECRETS:
        variable = f"CLASH_{name.upper()}"
        path = environ.get(f"{variable}_FILE")
        if not path:
            continue
        if environ.get(variable):
            raise SecretFileError(f"set {variable} or {variable}_FILE, not both")
        try:
            found[name] = Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise SecretFileError(f"{variable}_FILE: cannot read {path}: {exc.strerror}") from None
    return found
