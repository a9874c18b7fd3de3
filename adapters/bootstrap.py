"""The composition root: settings, clocks, the database, stores and services, wired once.

``bootstrap()`` is the only place that builds long-lived objects; nothing is created at
import. ``api/`` and ``workers/`` call it (``clash serve``, ``clash worker NAME``, tests) and
receive a :class:`Container`. Tests pass their own settings and clocks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx

from adapters.arena_cycle import ArenaCycle
from adapters.artifact_store import FilesystemArtifacts
from adapters.asset_registry import AssetRegistry, FeeSchedule
from adapters.audition_checks import AuditionChecks
from adapters.audition_evaluation import AuditionEvaluation
from adapters.audition_process import AuditionProcess
from adapters.backtest_artifacts import BacktestArtifacts
from adapters.backtest_service import BacktestService
from adapters.backtest_store import BacktestStore
from adapters.clocks import SystemClock
from adapters.contract_wallets import JsonRpcContractWallets
from adapters.database import Database, open_database
from adapters.decision_store import DecisionStore
from adapters.entitlements import EntitlementPort
from adapters.entropy import SystemEntropy
from adapters.event_stores import factory_builder
from adapters.feature_channels import FeatureChannels
from adapters.feature_store import FeatureStore
from adapters.identity_store import SqlIdentityStore
from adapters.jwt_keyring import StoredKeyRing
from adapters.market_replay import ReplayMarketClock, ReplayStore
from adapters.market_store import MarketStore
from adapters.market_view import MarketMemoryView
from adapters.migrations import migrate
from adapters.model_meter import ModelMeter, build_model_meter
from adapters.model_router import ModelRouter, build_model_router
from adapters.race_process import RaceDesk
from adapters.rate_limits import AuthRateLimiter
from adapters.settings import JwtKeySetting, Settings, load_settings
from adapters.source_health_store import SourceHealthStore
from adapters.trading_engine import TradingEngine
from adapters.trading_market import MarketReader
from adapters.vault_chain import Web3VaultChain
from domain.application import FactoryBuilder
from domain.clock import Clock
from domain.clones.application import CloneService
from domain.clones.tiers import TierTable
from domain.competition.application import Competition
from domain.economy.application import Economy, VaultTerms
from domain.economy.typed_data import VaultDomain
from domain.identity.access_tokens import AccessKey
from domain.identity.errors import UserNotFound
from domain.identity.policy import IdentityPolicy, checksum_address
from domain.identity.ports import Entropy
from domain.identity.service import IdentityService
from domain.lifecycle.application import Lifecycle
from domain.prop.application import PropLedger
from domain.trading.application import TradingDesk
from projections.prop_queries import PropQueries

# Where the bundled 5-minute data starts: the replay market clock's first instant.
REPLAY_DATA_START = datetime(2021, 7, 3, tzinfo=UTC)


@dataclass
class Container:
    """Everything a process needs, built once by :func:`bootstrap`."""

    settings: Settings
    service_clock: Clock
    market_clock: Clock
    database: Database
    event_stores: FactoryBuilder
    identity: IdentityService
    keyring: StoredKeyRing
    auth_rate_limiter: AuthRateLimiter
    market: MarketStore
    assets: AssetRegistry
    replay: ReplayStore
    source_health: SourceHealthStore
    features: FeatureChannels
    prop: PropLedger
    clones: CloneService
    economy: Economy
    entitlements: EntitlementPort
    tiers: TierTable
    trading: TradingDesk
    model_router: ModelRouter
    model_meter: ModelMeter
    decisions: DecisionStore
    artifacts: FilesystemArtifacts
    trading_engine: TradingEngine
    backtests: BacktestService
    lifecycle: Lifecycle
    audition_process: AuditionProcess
    audition_evaluation: AuditionEvaluation
    competition: Competition
    arena: ArenaCycle
    races: RaceDesk
    closers: list[object] = field(default_factory=list)

    def close(self) -> None:
        """Release connections and clients."""
        self.prop.close()
        self.clones.close()
        self.economy.close()
        self.trading.close()
        self.lifecycle.close()
        self.competition.close()
        for closer in self.closers:
            close = getattr(closer, "close", None)
            if callable(close):
                close()
        self.database.close()


def bootstrap(
    settings: Settings | None = None,
    *,
    service_clock: Clock | None = None,
    market_clock: Clock | None = None,
    entropy: Entropy | None = None,
    run_migrations: bool = True,
    http_transport: httpx.BaseTransport | None = None,
) -> Container:
    """Build the container for one process.

    ``http_transport`` replaces the network for outbound HTTP clients (tests hand in an
    ``httpx.MockTransport`` that answers like the real external service).
    """
    settings = settings or load_settings()
    service_clock = service_clock or SystemClock()
    database = open_database(
        settings.database_url.split("?")[0],
        schema=settings.effective_postgres_schema,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_pool_max_overflow,
        pool_timeout=settings.db_pool_timeout_seconds,
        connect_timeout=settings.db_connect_timeout_seconds,
        sqlite_lock_timeout=settings.sqlite_lock_timeout_seconds,
        application_name=settings.db_application_name,
    )
    if run_migrations:
        migrate(database)
    assets = AssetRegistry(database, fee_schedule(settings))
    if run_migrations:
        assets.seed(service_clock.now())
    replay = ReplayStore(database)
    market = MarketStore(database)
    events = factory_builder(database)
    the_market_clock = market_clock or default_market_clock(settings, replay)
    prop = PropLedger(clock=the_market_clock, factory_builder=events)
    prop.bind_market(MarketMemoryView(assets, market))
    tiers = settings.tiers
    economy = Economy(clock=service_clock, factory_builder=events, tiers=tiers)
    economy.bind_vault(vault_terms(settings))
    chain = vault_chain(settings)
    economy.bind_chain(chain)
    entitlements = EntitlementPort(economy, mock_starter=settings.mock_entitlements)
    clones = CloneService(clock=service_clock, factory_builder=events)
    clones.bind_entitlements(entitlements)
    trading = TradingDesk(clock=the_market_clock, factory_builder=events)
    model_router = build_model_router(settings, transport=http_transport)
    model_meter = build_model_meter(settings, database, service_clock)
    decisions = DecisionStore(database)
    artifacts = FilesystemArtifacts(settings.effective_artifact_dir)
    features = FeatureChannels(FeatureStore(database), market)
    engine = TradingEngine(
        prop=prop,
        versions=clones,
        entitlements=entitlements,
        tiers=tiers,
        market=MarketReader(features, market, assets),
        decisions=decisions,
        artifacts=artifacts,
        router=model_router,
        service_clock=service_clock,
        meter=model_meter,
    )
    contract_wallets = (
        JsonRpcContractWallets(settings.eip1271_rpc_url, transport=http_transport)
        if settings.eip1271_rpc_url
        else None
    )
    lifecycle = Lifecycle(
        clock=the_market_clock, rule_book=settings.audition_rule_book, factory_builder=events
    )
    competition = Competition(clock=the_market_clock, factory_builder=events)
    policy = identity_policy(settings)
    keyring = StoredKeyRing(
        database,
        configured=policy.keys,
        configured_signer=policy.signing_kid,
        pepper=policy.pepper,
        refresh=timedelta(seconds=settings.jwt_keyring_refresh_seconds),
    )
    identity = IdentityService(
        store=SqlIdentityStore(database),
        clock=service_clock,
        entropy=entropy or SystemEntropy(),
        policy=policy,
        contract_wallets=contract_wallets,
        keys=keyring,
    )
    return Container(
        settings=settings,
        service_clock=service_clock,
        market_clock=the_market_clock,
        database=database,
        event_stores=events,
        identity=identity,
        keyring=keyring,
        auth_rate_limiter=AuthRateLimiter(
            settings.auth_rate_limit_per_ip, settings.auth_rate_limit_per_address
        ),
        market=market,
        assets=assets,
        replay=replay,
        source_health=SourceHealthStore(database),
        features=features,
        prop=prop,
        clones=clones,
        economy=economy,
        entitlements=entitlements,
        tiers=tiers,
        trading=trading,
        model_router=model_router,
        model_meter=model_meter,
        decisions=decisions,
        artifacts=artifacts,
        trading_engine=engine,
        backtests=BacktestService(
            clones=clones,
            tiers=tiers,
            store=BacktestStore(database),
            artifacts=BacktestArtifacts(database),
            market_clock=the_market_clock,
            service_clock=service_clock,
        ),
        lifecycle=lifecycle,
        audition_process=AuditionProcess(
            lifecycle=lifecycle,
            economy=economy,
            prop=prop,
            trading=trading,
            clones=clones,
            market_clock=the_market_clock,
        ),
        audition_evaluation=AuditionEvaluation(
            lifecycle=lifecycle,
            prop=prop,
            market=market,
            assets=assets,
            checks=AuditionChecks(database),
        ),
        competition=competition,
        arena=ArenaCycle(
            database=database,
            competition=competition,
            clones=clones,
            prop=prop,
            trading=trading,
            market_clock=the_market_clock,
            capacity=settings.arena_capacity,
            collateral_usdc=settings.arena_collateral_usdc,
        ),
        races=RaceDesk(
            lifecycle=lifecycle,
            competition=competition,
            economy=economy,
            clones=clones,
            prop=prop,
            trading=trading,
            market=market,
            assets=assets,
            health=SourceHealthStore(database),
            queries=PropQueries(database),
            market_clock=the_market_clock,
            config=settings.race_config,
            cadence=timedelta(seconds=settings.race_cadence_seconds),
            live_mode=settings.market_mode == "live",
            creator_wallet=lambda user_id: first_wallet(identity, user_id),
        ),
        closers=[c for c in (contract_wallets, chain) if c is not None] + [model_router],
    )


def default_market_clock(settings: Settings, replay: ReplayStore) -> Clock:
    """Real time in live mode; the replay feed's simulated time offline."""
    if settings.market_mode == "live":
        return SystemClock()
    return ReplayMarketClock(replay, fallback=REPLAY_DATA_START)


def vault_terms(settings: Settings) -> VaultTerms:
    """The SignedVault deployment, refund key and audition fee rules of the economy."""
    return VaultTerms(
        domain=VaultDomain(settings.vault_chain_id, settings.vault_contract),
        vault_signer=settings.vault_signer,
        refund_private_key=settings.refund_private_key.get_secret_value(),
        fees_wei={tier: int(amount) for tier, amount in settings.audition_fee_wei.items()},
        retries=dict(settings.audition_retries),
        quote_ttl=timedelta(seconds=settings.audition_quote_ttl_seconds),
        refund_ttl=timedelta(seconds=settings.refund_authorization_ttl_seconds),
        payout_private_key=settings.payout_private_key.get_secret_value(),
    )


def first_wallet(identity: IdentityService, user_id: str) -> str | None:
    """A user's first wallet (where creator shares are paid), or ``None``."""
    try:
        wallets = identity.user(user_id).wallets
    except UserNotFound:
        return None
    return wallets[0].address if wallets else None


def vault_chain(settings: Settings) -> Web3VaultChain | None:
    """The vault contract reader when on-chain confirmation is configured, else ``None``."""
    if not settings.vault_rpc_url:
        return None
    return Web3VaultChain(
        settings.vault_rpc_url,
        contract=settings.vault_contract,
        chain_id=settings.vault_chain_id,
        required_confirmations=settings.vault_confirmations,
    )


def fee_schedule(settings: Settings) -> FeeSchedule:
    """The fee rates and minimum notional applied to every instrument."""
    return FeeSchedule(
        taker=settings.taker_fee_rate,
        maker=settings.maker_fee_rate,
        min_notional=settings.min_order_notional_usdc,
    )


def identity_policy(settings: Settings) -> IdentityPolicy:
    """Translate settings into the identity service's policy."""
    return IdentityPolicy(
        siwe_domain=settings.siwe_domain,
        siwe_uri=settings.siwe_uri,
        siwe_statement=settings.siwe_statement,
        chain_ids=frozenset(settings.siwe_chain_ids),
        nonce_ttl=timedelta(seconds=settings.siwe_nonce_ttl_seconds),
        clock_skew=timedelta(seconds=settings.siwe_clock_skew_seconds),
        keys={kid: access_key(key) for kid, key in settings.jwt_keys.items()},
        signing_kid=settings.jwt_signing_kid,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        access_ttl=timedelta(seconds=settings.access_token_ttl_seconds),
        token_leeway=timedelta(seconds=settings.token_leeway_seconds),
        refresh_idle_ttl=timedelta(seconds=settings.refresh_idle_ttl_seconds),
        refresh_absolute_ttl=timedelta(seconds=settings.refresh_absolute_ttl_seconds),
        refresh_grace=timedelta(seconds=settings.refresh_grace_seconds),
        pepper=settings.refresh_pepper.get_secret_value(),
        admin_addresses=frozenset(checksum_address(a) for a in settings.admin_addresses),
    )


def access_key(setting: JwtKeySetting) -> AccessKey:
    """Turn one configured JWT key into the domain's key type."""
    if setting.alg == "HS256":
        if setting.secret is None:
            raise ValueError("an HS256 key needs a secret")
        secret = setting.secret.get_secret_value()
        return AccessKey("HS256", verification_key=secret, signing_key=secret)
    private = setting.private_key.get_secret_value() if setting.private_key else None
    return AccessKey("EdDSA", verification_key=setting.public_key or "", signing_key=private)
