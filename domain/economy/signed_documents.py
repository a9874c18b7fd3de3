"""Read a signed typed-data document back: shape, declarations, domain, fields, signer.

Every document that claims money (a fee receipt, later a ticket receipt) or authorises a
payout (a withdrawal) is read by :func:`read_signed_document` before any business rule
looks at it. It returns the message's values, parsed to Python (``uint256`` -> ``int``,
``address`` -> EIP-55 ``str``, ``string`` -> ``str``), or raises :class:`ReceiptRejected`.

The checks run in a fixed order, so a document that breaks several rules always gets the
same ``reason``, and the first reason points at the cheapest thing to look at:

1. ``malformed_document``: not an object, or top-level members other than exactly
   ``types``, ``primaryType``, ``domain``, ``message``, or ``domain``/``message`` not objects;
2. ``wrong_primary_type``: ``primaryType`` is not the expected struct (a withdrawal shown
   as a receipt stops here);
3. ``types_mismatch``: ``types`` is not exactly ``EIP712Domain`` plus the expected struct,
   members in order (no extra structs, no renamed or retyped members);
4. the domain, rebuilt from configuration and compared member by member:
   ``domain_mismatch`` (members other than name, version, chainId, verifyingContract, or a
   name/version/value that differs or is malformed), ``chain_mismatch``,
   ``address_not_checksummed`` (verifyingContract), ``contract_mismatch``;
5. the message: ``unexpected_field`` (an undeclared member: eth-account would ignore it and
   leave it unsigned), ``missing_field``, then each member in declared order:
   ``malformed_field`` (wrong JSON type; a ``uint256`` must be an int or a decimal string,
   never a float, bool, negative, ``0x`` or out of range value; a string is at most
   ``STRING_MAX`` characters) or ``address_not_checksummed``;
6. ``bad_signature``: not ``0x`` + 130 hex digits, out-of-range ``r``/``s``, high ``s``,
   odd ``v``, or nothing recoverable;
7. ``signer_mismatch``: the signature recovers to someone other than the configured signer.

Structure and domain come before the signature so a receipt from the wrong chain says
``chain_mismatch`` rather than an opaque ``signer_mismatch``. Addresses must be EIP-55
checksummed: the documents we hand out are, and a mixed-case address with a wrong checksum
(which the encoder accepts) is a typo or an edit. The signature is recovered over the
document rebuilt from the parsed values and the configured domain, never over the raw
input, so what was checked is exactly what was signed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from eth_utils.address import is_checksum_address

from domain.economy.errors import ReceiptRejected
from domain.economy.typed_data import (
    DOMAIN_NAME,
    DOMAIN_VERSION,
    EIP712_DOMAIN,
    STRING_MAX,
    UINT256_LIMIT,
    StructType,
    TypedField,
    TypedValue,
    VaultDomain,
    declared_types,
    recover_typed_signer,
    typed_data_document,
)

DOCUMENT_MEMBERS = frozenset({"types", "primaryType", "domain", "message"})
_DECIMAL = re.compile(r"[0-9]{1,78}")
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")


def read_signed_document(
    document: object, signature: object, *, struct: StructType, domain: VaultDomain, signer: str
) -> dict[str, TypedValue]:
    """Check ``document`` and its signature by ``signer``; return the message's values."""
    top = _top_level(document)
    if top["primaryType"] != struct.name:
        raise ReceiptRejected("wrong_primary_type", f"expected={struct.name}")
    if top["types"] != declared_types(struct):
        raise ReceiptRejected("types_mismatch", f"expected EIP712Domain and {struct.name} only")
    check_domain(top["domain"], domain)
    values = read_message(top["message"], struct)
    recovered = recover_typed_signer(typed_data_document(struct, domain, values), signature)
    if recovered is None:
        raise ReceiptRejected("bad_signature", "expected 0x and 65 bytes (r, low s, v)")
    if recovered.lower() != signer.lower():
        raise ReceiptRejected("signer_mismatch", f"recovered={recovered}")
    return values


def check_domain(presented: object, expected: VaultDomain) -> None:
    """Compare a document's ``domain`` with the configured one, member by member."""
    if not isinstance(presented, Mapping):
        raise ReceiptRejected("malformed_document", "domain is not an object")
    _check_members(presented, EIP712_DOMAIN, reason="domain_mismatch")
    for member, wanted in (("name", DOMAIN_NAME), ("version", DOMAIN_VERSION)):
        if presented[member] != wanted:
            raise ReceiptRejected("domain_mismatch", f"field={member} expected={wanted}")
    chain_id = parse_uint256(presented["chainId"])
    if chain_id is None:
        raise ReceiptRejected("domain_mismatch", "field=chainId is not a uint256")
    if chain_id != expected.chain_id:
        raise ReceiptRejected("chain_mismatch", f"chain_id={chain_id} expected={expected.chain_id}")
    contract = _address(presented["verifyingContract"], "verifyingContract", "domain_mismatch")
    if contract != expected.verifying_contract:
        raise ReceiptRejected(
            "contract_mismatch", f"contract={contract} expected={expected.verifying_contract}"
        )


def read_message(message: object, struct: StructType) -> dict[str, TypedValue]:
    """Parse a document's ``message``: exactly the declared members, each of its type."""
    if not isinstance(message, Mapping):
        raise ReceiptRejected("malformed_document", "message is not an object")
    _check_members(message, struct, reason=None)
    return {f.name: read_value(f, message[f.name]) for f in struct.fields}


def read_value(declared: TypedField, value: object) -> TypedValue:
    """Parse one member's JSON value as its declared type, or raise ``malformed_field``."""
    if declared.type == "uint256":
        number = parse_uint256(value)
        if number is None:
            raise ReceiptRejected(
                "malformed_field", f"field={declared.name} expected=uint256 (int or decimal string)"
            )
        return number
    if declared.type == "address":
        return _address(value, declared.name, "malformed_field")
    if not isinstance(value, str) or len(value) > STRING_MAX or not _encodable(value):
        raise ReceiptRejected(
            "malformed_field", f"field={declared.name} expected=string of at most {STRING_MAX}"
        )
    return value


def parse_uint256(value: object) -> int | None:
    """An int in ``0..2**256-1`` from a JSON int or a plain decimal string, else ``None``."""
    if isinstance(value, str) and _DECIMAL.fullmatch(value):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if 0 <= value < UINT256_LIMIT else None


def _top_level(document: object) -> Mapping[str, Any]:
    if not isinstance(document, Mapping):
        raise ReceiptRejected("malformed_document", "the typed data is not an object")
    if set(document) != DOCUMENT_MEMBERS:
        raise ReceiptRejected("malformed_document", "expected types, primaryType, domain, message")
    return document


def _check_members(presented: Mapping[Any, Any], struct: StructType, reason: str | None) -> None:
    # ``reason`` overrides the per-kind reasons (the domain reports all of them one way)
    declared = struct.field_names
    extra = sorted(_shown(key) for key in presented if key not in declared)
    if extra:
        raise ReceiptRejected(reason or "unexpected_field", f"field={extra[0]}")
    missing = [name for name in declared if name not in presented]
    if missing:
        raise ReceiptRejected(reason or "missing_field", f"field={missing[0]}")


def _address(value: object, name: str, malformed_reason: str) -> str:
    if not isinstance(value, str) or _ADDRESS.fullmatch(value) is None:
        raise ReceiptRejected(malformed_reason, f"field={name} expected=address")
    if not is_checksum_address(value):
        raise ReceiptRejected("address_not_checksummed", f"field={name}")
    return value


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates cannot be hashed
        return False
    return True


def _shown(key: object) -> str:
    text = str(key)
    return text if len(text) <= 64 else text[:61] + "..."
