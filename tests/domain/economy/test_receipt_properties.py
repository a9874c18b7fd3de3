"""Properties of receipt verification: no input makes it raise anything but ReceiptRejected."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.economy.errors import ReceiptRejected
from domain.economy.receipts import verify_fee_receipt
from domain.economy.typed_data import recover_typed_signer
from tests.domain.economy.vault_kit import NONCE, a_fee_receipt, expectations, sign

RECEIPT = a_fee_receipt()
SIGNATURE = sign(RECEIPT)

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**300), max_value=2**300)
    | st.floats(allow_nan=True)
    | st.text(max_size=80)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)
member_names = st.sampled_from(["types", "primaryType", "domain", "message"])
field_names = st.sampled_from(
    [
        "payer",
        "amountWei",
        "purpose",
        "auditionId",
        "nonce",
        "deadline",
        "name",
        "version",
        "chainId",
        "verifyingContract",
        "salt",
        "extra",
    ]
)
signatures = (
    st.text(max_size=140)
    | st.binary(max_size=70).map(lambda raw: "0x" + raw.hex())
    | st.binary(min_size=65, max_size=65).map(lambda raw: "0x" + raw.hex())
    | st.just(SIGNATURE)
    | json_values
)


@st.composite
def mutated_receipts(draw: st.DrawFn) -> Any:
    """The valid receipt with one member, or one field of domain/message, replaced."""
    document = copy.deepcopy(RECEIPT)
    member = draw(member_names)
    if member in ("domain", "message") and draw(st.booleans()):
        document[member][draw(field_names)] = draw(json_values)
    else:
        document[member] = draw(json_values)
    return document


def _verify_or_rejected(document: Any, signature: Any) -> None:
    try:
        nonce = verify_fee_receipt(document, signature, **expectations())
    except ReceiptRejected:
        return
    assert nonce == NONCE  # an edit that hashes the same (e.g. 42 for "42") stays valid


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=json_values, signature=signatures)
def test_arbitrary_json_never_raises_anything_but_a_rejection(
    document: Any, signature: Any
) -> None:
    _verify_or_rejected(document, signature)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=mutated_receipts(), signature=signatures)
def test_an_edited_receipt_never_raises_anything_but_a_rejection(
    document: Any, signature: Any
) -> None:
    _verify_or_rejected(document, signature)


@settings(max_examples=200, deadline=None)
@given(document=json_values | mutated_receipts(), signature=signatures)
def test_recovery_never_raises(document: Any, signature: Any) -> None:
    recovered = recover_typed_signer(document, signature)
    assert recovered is None or recovered.startswith("0x")
