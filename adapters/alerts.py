"""Alert rules, defined once (``adapters/alert_rules.json``) and evaluated in process.

Why in process: a single-machine deployment gets alerts without running Prometheus and
Alertmanager; the same signals are exported on ``/metrics`` for operators who do. A rule
names a metric (``adapters/metrics.py``), a comparison, a threshold and how long the
condition must hold (``for_seconds``). Each labelled series of the metric is judged on its
own: it **fires** once the condition has held that long, and **resolves** when it stops
holding; both are posted to ``CLASH_ALERT_WEBHOOK_URL`` as JSON (and logged).
"""

from __future__ import annotations

import json
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from typing import Any

OPS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}
Series = tuple[str, tuple[tuple[str, str], ...]]


class AlertRulesInvalid(ValueError):
    """Raised when the rules file holds a rule that cannot be evaluated."""


@dataclass(frozen=True)
class AlertRule:
    """When a metric's series is alarming."""

    name: str
    metric: str
    op: str
    threshold: float
    for_seconds: int
    summary: str


@dataclass(frozen=True)
class Notification:
    """A rule that started or stopped firing for one series."""

    status: str  # firing | resolved
    rule: AlertRule
    labels: dict[str, str]
    value: float
    at: datetime

    def to_document(self) -> dict[str, Any]:
        """The webhook's JSON body."""
        return {
            "status": self.status,
            "alert": self.rule.name,
            "summary": self.rule.summary,
            "labels": self.labels,
            "value": self.value,
            "at": self.at.isoformat(),
        }


def load_rules(text: str | None = None) -> list[AlertRule]:
    """The rules of ``text`` (default: the project's ``alert_rules.json``), checked."""
    raw = (
        text
        if text is not None
        else resources.files("adapters").joinpath("alert_rules.json").read_text(encoding="utf-8")
    )
    rules = []
    for entry in json.loads(raw):
        if entry.get("op") not in OPS or not entry.get("name") or not entry.get("metric"):
            raise AlertRulesInvalid(f"rule={entry}")
        rules.append(
            AlertRule(
                entry["name"],
                entry["metric"],
                entry["op"],
                float(entry["threshold"]),
                int(entry.get("for_seconds", 0)),
                str(entry.get("summary", "")),
            )
        )
    return rules


@dataclass
class AlertEvaluator:
    """Judges samples against the rules; remembers which series hold and which fire."""

    rules: list[AlertRule]
    _since: dict[tuple[str, Series], datetime] = field(default_factory=dict)
    _firing: set[tuple[str, Series]] = field(default_factory=set)

    def evaluate(self, samples: Mapping[Series, float], now: datetime) -> list[Notification]:
        """The notifications these samples cause at ``now``."""
        found = []
        for rule in self.rules:
            for series, value in samples.items():
                if series[0] != rule.metric:
                    continue
                key = (rule.name, series)
                found += self._judge(key, rule, series, value, now)
            found += self._vanished(rule, samples, now)
        return found

    def _judge(
        self, key: tuple[str, Series], rule: AlertRule, series: Series, value: float, now: datetime
    ) -> list[Notification]:
        if OPS[rule.op](value, rule.threshold):
            since = self._since.setdefault(key, now)
            held = (now - since).total_seconds() >= rule.for_seconds
            if held and key not in self._firing:
                self._firing.add(key)
                return [Notification("firing", rule, dict(series[1]), value, now)]
            return []
        self._since.pop(key, None)
        if key in self._firing:
            self._firing.discard(key)
            return [Notification("resolved", rule, dict(series[1]), value, now)]
        return []

    def _vanished(
        self, rule: AlertRule, samples: Mapping[Series, float], now: datetime
    ) -> list[Notification]:
        gone = [k for k in self._firing if k[0] == rule.name and k[1] not in samples]
        for key in gone:
            self._firing.discard(key)
            self._since.pop(key, None)
        return [Notification("resolved", rule, dict(k[1][1]), 0.0, now) for k in gone]
