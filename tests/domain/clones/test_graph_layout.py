"""Layouts: small plain JSON of node positions and a viewport, apart from the strategy."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

import pytest

from domain.clones.graph import (
    GraphInvalid,
    LayoutInvalid,
    compile_graph,
    parse_graph,
    parse_layout,
)
from domain.clones.graph_layout import MAX_BYTES
from tests.domain.clones.graph_examples import ASSETS, ema_crossover


def codes_of(document: object) -> set[str]:
    with pytest.raises(LayoutInvalid) as caught:
        parse_layout(document)
    return caught.value.codes


def test_layout_keeps_positions_extras_and_viewport() -> None:
    # Arrange
    document = {
        "nodes": {"btc": {"x": 10, "y": -4.5, "label": "Bitcoin", "collapsed": False}},
        "viewport": {"x": 0, "y": 0, "zoom": 1.25},
    }

    # Act
    layout = parse_layout(document)

    # Assert
    assert layout == document


def test_empty_layout_is_empty_nodes_and_viewport() -> None:
    # Act / Assert
    assert parse_layout({}) == {"nodes": {}, "viewport": {}}


def test_decimal_coordinates_from_a_decimal_json_parser_become_numbers() -> None:
    # Act
    layout = parse_layout({"nodes": {"a": {"x": Decimal("1.5"), "y": Decimal(2)}}})

    # Assert
    assert layout["nodes"]["a"] == {"x": 1.5, "y": 2.0}


@pytest.mark.parametrize(
    ("document", "code"),
    [
        ([], "bad_document"),
        ({"nodes": [], "viewport": {}}, "bad_document"),
        ({"nodes": {}, "zoom": 2}, "unknown_field"),
        ({"nodes": {"bad id": {"x": 0, "y": 0}}}, "bad_id"),
        ({"nodes": {"a": {"x": 0}}}, "bad_position"),
        ({"nodes": {"a": {"x": True, "y": 0}}}, "bad_position"),
        ({"nodes": {"a": {"x": "1", "y": 0}}}, "bad_position"),
        ({"nodes": {"a": {"x": math.nan, "y": 0}}}, "bad_value"),
        ({"nodes": {"a": {"x": 0, "y": 0, "tag": object()}}}, "bad_value"),
        ({"viewport": {"zoom": math.inf}}, "bad_value"),
        ({"viewport": {"deep": [[[[[[[1]]]]]]]}}, "bad_value"),
        ({"viewport": {"big": 2**60}}, "bad_value"),
        ({"viewport": {"text": "x" * MAX_BYTES}}, "too_large"),
    ],
)
def test_malformed_layouts_are_refused(document: object, code: str) -> None:
    # Act / Assert
    assert code in codes_of(document)


def test_every_layout_problem_is_listed() -> None:
    # Arrange
    document: dict[str, Any] = {
        "nodes": {"a": {"x": 0}, "b": {"y": 1}},
        "viewport": [],
        "extra": 1,
    }

    # Act
    codes = codes_of(document)

    # Assert
    assert codes == {"bad_position", "bad_document", "unknown_field"}


def test_moving_a_node_never_changes_the_spec() -> None:
    # Arrange
    graph = parse_graph(ema_crossover(), known_assets=ASSETS)
    before = compile_graph(graph).canonical_json()

    # Act
    parse_layout({"nodes": {"btc": {"x": 500, "y": 20}}})
    after = compile_graph(graph).canonical_json()

    # Assert
    assert before == after


def test_positions_inside_the_graph_document_are_refused() -> None:
    # Arrange
    document = ema_crossover()
    document["nodes"][0]["x"] = 500

    # Act
    with pytest.raises(GraphInvalid) as caught:
        parse_graph(document, known_assets=ASSETS)

    # Assert
    assert [(e.node, e.field, e.code) for e in caught.value.errors] == [
        ("btc", "nodes[0].x", "unknown_field")
    ]
