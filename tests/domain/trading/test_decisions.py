"""One decision tick: rule hints, the rules provider, routing, validation, stale data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from adapters.model_router import ModelRouter, Route
from domain.clones.graph import compile_graph, parse_graph
from domain.market.instruments import Instrument
from domain.trading.context import (
    AccountContext,
    PositionContext,
    build_packet,
    flat_account,
)
from domain.trading.decisions import decide, decision_id_for
from domain.trading.providers import ModelCall, ProviderReply
from domain.trading.spec import ChannelRef, StrategySpec
from tests.domain.clones.graph_examples import ASSETS, ema_crossover, llm_strategy

D = Decimal
T = datetime(2021, 7, 3, 12, 0, tzinfo=UTC)
FIVE = timedelta(minutes=5)
FAST = ChannelRef("BTC", "5m", "ema:12")
SLOW = ChannelRef("BTC", "5m", "ema:26")


class TableMarket:
    """Market memory from a table (the port's test double): series per channel."""

    def __init__(self, series: dict[ChannelRef, list[tuple[datetime, Decimal]]]) -> None:
        self.table = series

    def series(self, ref: ChannelRef, at: datetime, count: int) -> list[tuple[datetime, Decimal]]:
        return [p for p in self.table.get(ref, []) if p[0] <= at][-count:]

    def mark(self, asset: str, at: datetime) -> Decimal | None:
        return D("33000")

    def funding_rate(self, asset: str, at: datetime) -> Decimal | None:
        return D("0.0000125")

    def instrument(self, asset: str, at: datetime) -> Instrument | None:
        return None


def _spec(document: dict) -> StrategySpec:
    return compile_graph(parse_graph(document, known_assets=ASSETS))


def _crossing(fast: tuple[str, str], slow: tuple[str, str], at: datetime = T) -> TableMarket:
    return TableMarket(
        {
            FAST: [(at - FIVE, D(fast[0])), (at, D(fast[1]))],
            SLOW: [(at - FIVE, D(slow[0])), (at, D(slow[1]))],
        }
    )


def _decide(spec: StrategySpec, market: TableMarket, account: AccountContext, router=None):
    packet = build_packet(
        spec, at=T, assets=spec.asset_names, market=market, account=account, invocation=3
    )
    return decide(spec, packet, decision_id=decision_id_for("account:x", T), router=router)


def test_a_golden_cross_opens_a_long_with_the_rules_provider() -> None:
    decision = _decide(
        _spec(ema_crossover()), _crossing(("99", "101"), ("100", "100")), flat_account(D(10_000))
    )
    assert decision.hints == {"BTC": {"open_long": True, "close": False}}
    [action] = decision.actions.actions
    assert action.signal == "open_long"
    assert decision.provider == "rules"
    assert decision.prompt is None
    assert decision.tokens == (0, 0)
    assert not decision.errors


def test_a_death_cross_closes_only_while_holding() -> None:
    market = _crossing(("101", "99"), ("100", "100"))
    spec = _spec(ema_crossover())
    assert _decide(spec, market, flat_account(D(10_000))).holds
    holding = AccountContext(
        D(10_100),
        D(9_000),
        D(10_000),
        (PositionContext("BTC", D("0.1"), D(32000), D(33000), None, D(100), 3, None, None),),
    )
    [action] = _decide(spec, market, holding).actions.actions
    assert action.signal == "close"


def test_touching_without_crossing_holds() -> None:
    spec = _spec(ema_crossover())
    assert _decide(spec, _crossing(("100", "100"), ("100", "100")), flat_account(D(1))).holds
    assert _decide(spec, _crossing(("99", "100"), ("100", "100")), flat_account(D(1))).holds


def test_stale_data_holds_with_the_reason() -> None:
    old = _crossing(("99", "101"), ("100", "100"), at=T - FIVE)
    decision = _decide(_spec(ema_crossover()), old, flat_account(D(10_000)))
    assert decision.holds
    assert decision.errors == ("stale_data: asset=BTC",)


def test_decisions_are_deterministic_and_hash_their_context() -> None:
    spec, market = _spec(ema_crossover()), _crossing(("99", "101"), ("100", "100"))
    first = _decide(spec, market, flat_account(D(10_000)))
    second = _decide(spec, market, flat_account(D(10_000)))
    assert first.decision_id == second.decision_id
    assert first.context.content_hash == second.context.content_hash
    assert first.context.content_hash.startswith("sha256:")


class ScriptedModel:
    """A model provider (external service) that answers a fixed text."""

    name = "scripted"

    def __init__(self, text: str) -> None:
        self.text = text
        self.prompts: list[str] = []

    def complete(self, call: ModelCall) -> ProviderReply:
        self.prompts.append(call.prompt().user)
        return ProviderReply(self.text, call.model, 812, 64, 950)


def _llm_market() -> TableMarket:
    spec = _spec(llm_strategy())
    table: dict[ChannelRef, list[tuple[datetime, Decimal]]] = {}
    for ref in spec.channels:
        step = timedelta(hours=1) if ref.interval in ("1h", "-") else timedelta(minutes=15)
        table[ref] = [(T - i * step, D(50 + i)) for i in range(12)][::-1]
    return TableMarket(table)


def _router(model: ScriptedModel) -> ModelRouter:
    route = Route("scripted", "gpt-test", timeout_seconds=5, retries=0)
    return ModelRouter({"standard": [route]}, {"scripted": model}, sleep=lambda _: None)


def test_a_model_strategy_renders_prompt_v1_and_records_usage() -> None:
    answer = '{"actions": [{"asset": "ETH", "signal": "open_short", "leverage": 2,'
    answer += ' "confidence": 0.6, "justification": "macd signal rolling over"}]}'
    model = ScriptedModel(answer)
    decision = _decide(
        _spec(llm_strategy()), _llm_market(), flat_account(D(10_000)), _router(model)
    )
    assert decision.prompt_version == "v1"
    assert decision.tokens == (812, 64)
    assert [a.signal for a in decision.actions.actions] == ["hold", "open_short"]
    user = model.prompts[0]
    assert "OLDEST -> NEWEST" in user
    assert "at 15m intervals" in user
    # the last ten values, oldest first (the table's newest value, at T, is 50)
    assert "rsi:14 at 1h intervals: [59, 58, 57, 56, 55, 54, 53, 52, 51, 50]" in user


def test_schema_violations_become_holds_with_the_error() -> None:
    model = ScriptedModel('{"actions": [{"asset": "BTC", "signal": "open_long", "leverage": 9}]}')
    decision = _decide(
        _spec(llm_strategy()), _llm_market(), flat_account(D(10_000)), _router(model)
    )
    assert decision.holds
    assert any("leverage" in e for e in decision.errors)


def test_without_a_router_a_model_strategy_is_answered_by_the_rules() -> None:
    decision = _decide(_spec(llm_strategy()), _llm_market(), flat_account(D(10_000)))
    assert decision.provider == "rules"
    assert decision.prompt is None
    assert decision.holds


def test_an_absent_funding_series_never_holds_an_asset() -> None:
    spec = _spec(llm_strategy())
    market = _llm_market()
    market.table = {ref: points for ref, points in market.table.items() if ref.key != "funding"}
    packet = build_packet(
        spec,
        at=T,
        assets=spec.asset_names,
        market=market,
        account=flat_account(D(1)),
        invocation=1,
    )
    assert packet.asset("BTC").fresh
    funding = next(s for s in packet.asset("BTC").series if s.ref.key == "funding")
    assert funding.window() == (None, None)


def _stopped(spec: StrategySpec, market: TableMarket, router: ModelRouter):
    packet = build_packet(
        spec, at=T, assets=spec.asset_names, market=market, account=flat_account(D(1)), invocation=1
    )
    reason = "budget_exhausted: scope=global used_usd=50.000100 limit_usd=50.000000"
    return decide(spec, packet, decision_id=decision_id_for("a", T), router=router, stopped=reason)


def test_a_stopped_model_strategy_holds_with_the_reason_and_asks_no_provider() -> None:
    model = ScriptedModel('{"actions": []}')

    decision = _stopped(_spec(llm_strategy()), _llm_market(), _router(model))

    assert model.prompts == []
    assert decision.holds
    assert (decision.attempts, decision.prompt) == ((), None)
    assert (decision.provider, decision.model) == ("none", "none")
    assert decision.errors == (
        "budget_exhausted: scope=global used_usd=50.000100 limit_usd=50.000000",
    )


def test_a_stop_never_holds_a_rules_strategy() -> None:
    model = ScriptedModel('{"actions": []}')

    decision = _stopped(
        _spec(ema_crossover()), _crossing(("99", "101"), ("100", "100")), _router(model)
    )

    assert decision.provider == "rules"
    assert [a.signal for a in decision.actions.actions] == ["open_long"]
