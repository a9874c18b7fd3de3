"""``clash demo``: a whole season on the bundled data, in a couple of minutes.

A fresh SQLite store in a scratch folder, the embedded defaults except the demo parameters
(:data:`DEMO_SETTINGS`, printed at the start), and the platform's deterministic driver
stepping every worker at each 5-minute mark of a simulated market clock (feed, read models,
trading, marks, backtests, auditions, Arena, races). Through the real HTTP API:

1. four creators sign in with SIWE (keys generated from ``--seed``), build EMA clones with
   different parameters, publish them and their profiles, and backtest them;
2. they pay the audition fee (receipts signed locally with the development vault key) and
   submit auditions, judged on the replay feed by the demo rules;
3. the passes fill the Arena; a race is scheduled among its members; three punters buy
   tickets; the race runs, settles, and the payouts are signed;
4. standings, payouts and the audit are printed; the audit must be clean.
"""

from __future__ import annotations

import hashlib
import random
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from fastapi.testclient import TestClient

from adapters.bootstrap import REPLAY_DATA_START, Container, bootstrap
from adapters.database import open_database
from adapters.market_replay import ReplayMarketClock, ReplayStore
from adapters.settings import Settings
from api.app import create_app
from domain.clock import SimulatedClock
from domain.economy.receipts import fee_receipt_document, ticket_receipt_document
from domain.economy.typed_data import VaultDomain, sign_typed_document
from projections.catalog import runners
from projections.economy_audit import audit_economy
from projections.prop_audit import audit
from workers.arena import ArenaWorker
from workers.auditions import AuditionWorker
from workers.backtests import BacktestWorker
from workers.driver import DeterministicDriver
from workers.market_replay import MarketReplay
from workers.marks import MarkWorker
from workers.projector import Projector
from workers.races import RaceWorker
from workers.runtime import Runtime, Worker
from workers.trading import TradingWorker

WEI_PER_ETH = Decimal(10**18)
DEV_VAULT_KEY = "0x" + "a1" * 32  # the development vault signer's key (settings.py)
SERVICE_START = datetime(2026, 12, 1, 12, tzinfo=UTC)
SPEED = 300  # five market minutes per service second
DEMO_SETTINGS: dict[str, Any] = {
    "audition_rules": {
        "starter": {
            "profit_target": "0.0005",
            "min_trading_days": 1,
            "deadline_seconds": 3 * 86400,
        }
    },
    "arena_capacity": 3,
    "race_cadence_seconds": 7200,
    "race_entrants": 3,
    "race_ticket_window_seconds": 1800,
    "race_launch_gap_seconds": 300,
    "race_duration_seconds": 3600,
    "race_retention_seconds": 3600,
    "race_strike_rule": "drawdown_over",
    "replay_speed": SPEED,
}
WHY = {
    "audition_rules": "a 0.05 % target, one trading day and 3 days, so auditions end in hours",
    "arena_capacity": "3 slots, so four clones compete for them",
    "race_cadence_seconds": "a race every 2 market hours",
    "race_entrants": "3 entrants per race",
    "race_ticket_window_seconds": "30 minutes of tickets",
    "race_launch_gap_seconds": "5 minutes from launch to live",
    "race_duration_seconds": "1-hour races",
    "race_retention_seconds": "archived an hour after settling",
    "race_strike_rule": "strikes for a race drawdown over 20 %, not for last place: with"
    " races every 2 market hours, last places would retire the small Arena in a day",
    "replay_speed": "five market minutes per step",
}
CREATORS = (
    ("Ada", "BTC", 12, 26, False),
    ("Grace", "ETH", 5, 20, True),
    ("Linus", "SOL", 5, 20, False),
    ("Barbara", "ETH", 12, 26, False),
)
PUNTERS = ("Punter 1", "Punter 2", "Punter 3")
WARM_UP_MINUTES = 720  # the bundled data's first hours hold decisions as stale


@dataclass
class Season:
    """The demo's world: the app, its driver and the people in it."""

    container: Container
    client: TestClient
    driver: DeterministicDriver
    service: SimulatedClock
    rng: random.Random
    say: Callable[[str], None]
    wallets: dict[str, LocalAccount] = field(default_factory=dict)
    headers: dict[str, dict[str, str]] = field(default_factory=dict)
    clones: dict[str, dict[str, str]] = field(default_factory=dict)

    def run(self, market_minutes: int) -> None:
        """Advance the market, every worker stepping at each 5-minute mark."""
        until = self.service.now() + timedelta(seconds=market_minutes * 60 // SPEED)
        self.driver.run(until=until, step=timedelta(seconds=1))

    def call(self, method: str, url: str, who: str | None = None, **kwargs: Any) -> Any:
        """An API call as ``who``; a failure stops the demo with the problem it got."""
        headers = {**(self.headers[who] if who else {}), **kwargs.pop("headers", {})}
        response = self.client.request(method, url, headers=headers, **kwargs)
        if response.status_code >= 400:
            raise DemoFailed(f"{method} {url} -> {response.status_code} {response.text[:300]}")
        return response.json()


class DemoFailed(RuntimeError):
    """Raised when a step of the season does not go as a user would expect."""


def run_season(seed: int, say: Callable[[str], None], workdir: Path | None = None) -> bool:
    """Play a season; return whether the closing audit was clean."""
    with tempfile.TemporaryDirectory(prefix="clash-demo-") as scratch:
        folder = workdir or Path(scratch)
        season = _season(folder, seed, say)
        try:
            return _play(season)
        finally:
            season.container.close()


def _season(folder: Path, seed: int, say: Callable[[str], None]) -> Season:
    url = f"sqlite:///{folder}/demo.db"
    admin = _wallet(seed, "admin")
    settings = Settings(
        database_url=url,
        artifact_dir=str(folder / "artifacts"),
        admin_addresses=[admin.address],
        log_json=False,
        log_level="WARNING",
        **DEMO_SETTINGS,
    )
    clock_db = open_database(url)
    market = ReplayMarketClock(ReplayStore(clock_db), fallback=REPLAY_DATA_START, cache_seconds=0)
    service = SimulatedClock(SERVICE_START)
    container = bootstrap(settings, service_clock=service, market_clock=market)
    container.closers.append(clock_db)
    feed = MarketReplay(
        store=container.replay,
        market=container.market,
        market_clock=market,
        speed=SPEED,
        on_published=container.features.on_candles,
    )
    workers: list[Worker] = [
        feed,
        TradingWorker(container),
        MarkWorker(container),
        BacktestWorker(container),
        AuditionWorker(container),
        ArenaWorker(container),
        RaceWorker(container),
        Projector(runners(container)),
    ]
    rng = random.Random(seed)  # noqa: S311 - reproducible choices, not secrets
    runtime = Runtime(container.database, service, holder="demo", rng=rng)
    driver = DeterministicDriver(runtime, service, workers)
    client = TestClient(create_app(container), raise_server_exceptions=False)
    season = Season(container, client, driver, service, rng, say)
    season.wallets["admin"] = admin
    return season


def _play(season: Season) -> bool:
    say = season.say
    season.driver.tick()  # the feed anchors at the data's start
    say(f"Market: bundled candles from {season.container.market_clock.now():%Y-%m-%d %H:%M} UTC")
    season.run(WARM_UP_MINUTES)
    for name, asset, fast, slow, revert in CREATORS:
        _sign_in(season, name)
        _build(season, name, asset, fast, slow, revert)
    _backtest(season)
    for nonce, (name, *_) in enumerate(CREATORS, 1):
        _audition(season, name, nonce)
    _await_auditions(season)
    _arena(season)
    race = _race(season)
    _settle(season, race)
    return _audit(season)


def _sign_in(season: Season, name: str) -> None:
    wallet = _wallet(season.rng.randint(0, 10**9), name)
    season.wallets[name] = wallet
    challenge = season.call(
        "POST", "/v1/auth/siwe/challenge", json={"address": wallet.address, "chainId": 1}
    )
    signed = wallet.sign_message(encode_defunct(text=challenge["message"]))
    session = season.call(
        "POST",
        "/v1/auth/siwe/verify",
        json={"message": challenge["message"], "signature": signed.signature.to_0x_hex()},
    )
    season.headers[name] = {"Authorization": f"Bearer {session['accessToken']}"}


def _build(season: Season, name: str, asset: str, fast: int, slow: int, revert: bool) -> None:
    clone = season.call("POST", "/v1/clones", name, json={"name": f"{name}'s {asset} EMA"})
    graph = _trend(asset, fast, slow, revert)
    season.call("PUT", f"/v1/clones/{clone['id']}/draft", name, json={"graph": graph})
    version = season.call("POST", f"/v1/clones/{clone['id']}/versions", name)
    profile = {
        "name": f"{name} {asset}",
        "bio": f"EMA {fast}/{slow} on {asset}.",
        "avatarUrl": None,
    }
    season.call("PUT", f"/v1/clones/{clone['id']}/profile", name, json=profile)
    season.clones[name] = {"clone_id": clone["id"], "version_id": version["versionId"]}
    kind = "mean-reverter" if revert else "trend follower"
    season.say(
        f"{name} signed in as {season.wallets[name].address}"
        f" and built an EMA {fast}/{slow} {kind} on {asset}"
    )


def _backtest(season: Season) -> None:
    jobs = {}
    for name, clone in season.clones.items():
        body = {"cloneId": clone["clone_id"], "window": {"shape": "last_6h"}}
        jobs[name] = season.call("POST", "/v1/backtests", name, json=body)["id"]
    for _ in range(60):
        season.service.advance(timedelta(seconds=1))
        season.driver.tick()
        states = {n: season.call("GET", f"/v1/backtests/{j}", n) for n, j in jobs.items()}
        if all(s["status"] not in ("queued", "running") for s in states.values()):
            break
    for name, state in states.items():
        metrics = state.get("metrics") or {}
        season.say(
            f"Backtest of {name}'s clone over the last 6 market hours: {state['status']},"
            f" return {metrics.get('total_return', metrics.get('totalReturn', 'n/a'))}"
        )


def _audition(season: Season, name: str, nonce: int) -> None:
    clone = season.clones[name]
    body = {"cloneId": clone["clone_id"], "versionId": clone["version_id"], "tier": "starter"}
    quote = season.call("POST", "/v1/economy/audition-fee/quote", name, json=body)
    settings = season.container.settings
    receipt = fee_receipt_document(
        VaultDomain(settings.vault_chain_id, settings.vault_contract),
        payer=quote["payer"],
        amount_wei=int(quote["amountWei"]),
        audition_id=quote["auditionId"],
        nonce=nonce,
        deadline=season.service.now() + timedelta(minutes=10),
    )
    paid = {"quoteId": quote["id"], "typedData": receipt, "signature": _vault_sign(receipt)}
    purchase = season.call(
        "POST",
        "/v1/economy/audition-fee/submit",
        name,
        json=paid,
        headers={"Idempotency-Key": f"fee-{name}"},
    )
    entry = {"cloneId": clone["clone_id"], "versionId": clone["version_id"]}
    audition = season.call(
        "POST", "/v1/auditions", name, json={**entry, "purchaseId": purchase["id"]}
    )
    clone["audition_id"] = audition["id"]
    season.say(f"{name} paid {eth(quote['amountWei'])} ETH and submitted an audition")


def _await_auditions(season: Season) -> None:
    for _ in range(80):  # the demo rules' 3-day deadline ends every audition
        season.run(60)
        states = {
            n: season.call("GET", f"/v1/auditions/{c['audition_id']}", n)
            for n, c in season.clones.items()
        }
        if all(s["state"] not in ("starting", "running") for s in states.values()):
            break
    for name, state in states.items():
        outcome = state["runs"][-1]["outcome"] or {}
        detail = (
            f"score {state['metrics']['score']}"
            if state["state"] == "passed"
            else outcome.get("rule", "")
        )
        season.say(
            f"Audition of {name}'s clone: {state['state']} at {outcome.get('at', '?')} ({detail})"
        )


def _arena(season: Season) -> None:
    season.run(5)
    arena = season.call("GET", "/v1/arena")
    queue = season.call("GET", "/v1/arena/queue")
    names = ", ".join(
        f"{m['profile']['name'] if m['profile'] else m['cloneId'][:8]} ({m['state']})"
        for m in arena["members"]
    )
    season.say(f"Arena ({arena['capacity']} slots): {names}; waiting: {len(queue['entries'])}")


def _race(season: Season) -> dict[str, Any]:
    held = season.call("GET", "/v1/races")["data"]
    settled = [r for r in held if r["state"] in ("settled", "archived")]
    season.say(f"Races run while the auditions went on: {len(settled)}")
    for _ in range(30):
        races = season.call("GET", "/v1/races", params={"state": "accumulating"})["data"]
        if races:
            break
        season.run(5)
    else:
        raise DemoFailed("no race was scheduled")
    race: dict[str, Any] = season.call("GET", f"/v1/races/{races[0]['id']}")
    season.say(
        f"Race {race['id']} accumulating: tickets until {race['launchAt']},"
        f" live {race['liveAt']} to {race['endsAt']}"
    )
    for nonce, punter in enumerate(PUNTERS, 100):
        _sign_in(season, punter)
        entrant = race["entrants"][nonce % len(race["entrants"])]
        stake = (nonce - 99) * 10**16
        _ticket(season, punter, race, entrant["cloneId"], stake, nonce)
        season.say(f"{punter} staked {eth(stake)} ETH on {entrant['cloneName']}")
    return race


def _ticket(
    season: Season, who: str, race: dict[str, Any], clone_id: str, stake: int, nonce: int
) -> None:
    body = {"cloneId": clone_id, "stakeWei": str(stake)}
    quote = season.call("POST", f"/v1/races/{race['id']}/tickets/quote", who, json=body)
    settings = season.container.settings
    receipt = ticket_receipt_document(
        VaultDomain(settings.vault_chain_id, settings.vault_contract),
        payer=quote["payer"],
        amount_wei=stake,
        race_id=race["id"],
        clone_id=clone_id,
        nonce=nonce,
        deadline=season.service.now() + timedelta(minutes=5),
    )
    paid = {"quoteId": quote["id"], "typedData": receipt, "signature": _vault_sign(receipt)}
    season.call(
        "POST",
        f"/v1/races/{race['id']}/tickets/submit",
        who,
        json=paid,
        headers={"Idempotency-Key": f"ticket-{who.replace(' ', '-')}"},
    )


def _settle(season: Season, race: dict[str, Any]) -> None:
    for _ in range(40):
        season.run(10)
        found = season.call("GET", f"/v1/races/{race['id']}")
        if found["state"] in ("settled", "archived", "cancelled"):
            break
    season.say(f"Race {found['state']}:")
    names = {e["cloneId"]: e["cloneName"] or e["cloneId"][:8] for e in found["entrants"]}
    for result in found["results"] or []:
        place = result["rank"] or "DNF"
        season.say(
            f"  {place}: {names.get(result['cloneId'], result['cloneId'][:8])}"
            f" return {result['totalReturn']}"
            f" ({result['trades']} trades)"
        )
    pool = season.call("GET", f"/v1/races/{race['id']}/pool")
    season.say(f"Pool: {eth(pool['grossWei'])} ETH from {pool['tickets']} tickets")
    for who in (*PUNTERS, *(name for name, *_ in CREATORS)):
        for payout in season.call("GET", "/v1/economy/payouts", who)["data"]:
            season.say(
                f"  {who}: {payout['kind']} {eth(payout['amountWei'])} ETH"
                f" (signed by the payout key, nonce {payout['nonce'][:10]}...)"
            )


def _audit(season: Season) -> bool:
    for runner in runners(season.container):
        runner.catch_up()
    ledger = audit(season.container.prop, season.container.database)
    economy = audit_economy(season.container.economy, season.container.lifecycle)
    season.say(
        f"Audit: {ledger.accounts} prop accounts, {len(ledger.findings)} findings;"
        f" economy {economy.events} events, {len(economy.breaches)} breaches"
    )
    return ledger.ok and economy.ok


def _trend(asset: str, fast: int, slow: int, revert: bool) -> dict[str, Any]:
    enter, leave = ("lt", "gt") if revert else ("gt", "lt")
    nodes = [
        node("mkt", "market", asset=asset, interval="5m"),
        node("fast", "feature", channel=f"ema:{fast}"),
        node("slow", "feature", channel=f"ema:{slow}"),
        node("enter", "rule", op=enter),
        node("leave", "rule", op=leave),
        node("risk", "risk", sizeFraction="0.2", leverage=2, maxOpenPositions=1),
        node("act", "action"),
    ]
    edges = [
        edge("mkt", "fast"), edge("mkt", "slow"),
        edge("fast", "enter", "left"), edge("slow", "enter", "right"),
        edge("fast", "leave", "left"), edge("slow", "leave", "right"),
        edge("risk", "act", "risk"), edge("enter", "act", "open_long"),
        edge("leave", "act", "close"),
    ]  # fmt: skip
    return {"schema": "clash.strategy-graph/1", "nodes": nodes, "edges": edges}


def eth(wei: int | str) -> str:
    """Wei shown in ETH, exactly (no float ever holds the amount)."""
    return format((Decimal(wei) / WEI_PER_ETH).normalize(), "f")


def node(node_id: str, kind: str, **params: Any) -> dict[str, Any]:
    """One graph node."""
    return {"id": node_id, "kind": kind, "params": params}


def edge(source: str, target: str, port: str | None = None) -> dict[str, Any]:
    """One graph edge."""
    return {"from": source, "to": target, **({"port": port} if port else {})}


def _wallet(seed: int, name: str) -> LocalAccount:
    key = hashlib.sha256(f"clash-demo:{seed}:{name}".encode()).hexdigest()
    account: LocalAccount = Account.from_key("0x" + key)
    return account


def _vault_sign(document: dict[str, Any]) -> str:
    return sign_typed_document(document, DEV_VAULT_KEY)
