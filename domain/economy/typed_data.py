"""EIP-712 typed data under the SignedVault domain: values, declarations, signing, recovery.

Every signature the economy deals with (the vault's payment receipts, our refund
withdrawals) is EIP-712 typed data under one domain, ``{name: "SignedVault", version: "1",
chainId, verifyingContract}``. The chain id and the vault contract come from configuration
(:class:`VaultDomain`); a verifier never trusts the domain a document carries, it rebuilds
it and compares (see ``signed_documents``).

Documents are plain JSON-ready dicts (``types`` with ``EIP712Domain``, ``primaryType``,
``domain``, ``message``) so the API can hand them to wallets unchanged. They are built from
the declared fields only, because eth-account silently ignores (and so does not sign)
undeclared message keys. ``uint256`` message values are written as decimal strings: wallets
are JavaScript and a JSON number loses precision above 2**53; the hash is the same.

Recovery (:func:`recover_typed_signer`) answers "who signed this?" and never raises: a
wrong domain or wrong data recovers to an unrelated address (so callers always compare),
and a malformed signature gives ``None``. Signatures are the 65-byte ``r ‖ s ‖ v`` form as
``0x`` + 130 hex digits, ``v`` in {0, 1, 27, 28}, with a low ``s`` (EIP-2, as OpenZeppelin's
``ECDSA`` demands on chain); compact (EIP-2098) and contract-wallet signatures are refused.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple
from uuid import UUID

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils.address import is_hex_address, to_checksum_address

from domain.economy.errors import InvalidTypedData, VaultMisconfigured

DOMAIN_NAME = "SignedVault"
DOMAIN_VERSION = "1"
UINT256_LIMIT = 2**256
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
STRING_MAX = 256  # characters of a signed string field (ids, purposes)
_SIGNATURE = re.compile(r"0x[0-9a-fA-F]{130}")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

TypedValue = int | str


@dataclass(frozen=True)
class TypedField:
    """One declared member of an EIP-712 struct (only the three types we sign)."""

    name: str
    type: str  # "address" | "uint256" | "string"


@dataclass(frozen=True)
class StructType:
    """An EIP-712 struct: its name and its members, in signing order."""

    name: str
    fields: tuple[TypedField, ...]

    @classmethod
    def of(cls, name: str, *members: tuple[str, str]) -> StructType:
        """Declare ``name(type member, ...)`` from ``(member, type)`` pairs."""
        return cls(name, tuple(TypedField(member, kind) for member, kind in members))

    @property
    def field_names(self) -> tuple[str, ...]:
        """The members' names, in order."""
        return tuple(f.name for f in self.fields)

    def declaration(self) -> list[dict[str, str]]:
        """The struct as it appears under ``types`` in a document."""
        return [{"name": f.name, "type": f.type} for f in self.fields]


EIP712_DOMAIN = StructType.of(
    "EIP712Domain",
    ("name", "string"),
    ("version", "string"),
    ("chainId", "uint256"),
    ("verifyingContract", "address"),
)


@dataclass(frozen=True)
class VaultDomain:
    """The SignedVault EIP-712 domain of one deployment (built from configuration)."""

    chain_id: int
    verifying_contract: str

    def __post_init__(self) -> None:
        chain_id = self.chain_id
        if isinstance(chain_id, bool) or not isinstance(chain_id, int):
            raise VaultMisconfigured(f"chain_id={chain_id!r} must be an integer")
        if not 0 < chain_id < UINT256_LIMIT:
            raise VaultMisconfigured(f"chain_id={chain_id} must be positive")
        address = configured_address(self.verifying_contract, role="verifying_contract")
        object.__setattr__(self, "verifying_contract", address)

    def as_document(self) -> dict[str, Any]:
        """The ``domain`` member of a document under this domain."""
        return {
            "name": DOMAIN_NAME,
            "version": DOMAIN_VERSION,
            "chainId": self.chain_id,
            "verifyingContract": self.verifying_contract,
        }


def configured_address(value: object, *, role: str) -> str:
    """Return the EIP-55 form of a configured address, or raise ``VaultMisconfigured``."""
    if not isinstance(value, str) or not is_hex_address(value):
        raise VaultMisconfigured(f"{role} must be 0x followed by 40 hex digits")
    return str(to_checksum_address(value))


def declared_types(struct: StructType) -> dict[str, list[dict[str, str]]]:
    """The ``types`` member of a document whose primary type is ``struct``."""
    return {EIP712_DOMAIN.name: EIP712_DOMAIN.declaration(), struct.name: struct.declaration()}


def typed_data_document(
    struct: StructType, domain: VaultDomain, message: Mapping[str, object]
) -> dict[str, Any]:
    """Build the full document for ``struct`` from its declared fields only."""
    return {
        "types": declared_types(struct),
        "primaryType": struct.name,
        "domain": domain.as_document(),
        "message": {f.name: _document_value(f, message.get(f.name)) for f in struct.fields},
    }


def _document_value(declared: TypedField, value: object) -> TypedValue:
    if declared.type == "uint256":
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidTypedData(f"field={declared.name} must be an integer")
        if not 0 <= value < UINT256_LIMIT:
            raise InvalidTypedData(f"field={declared.name} must be within 0..2**256-1")
        return str(value)
    if declared.type == "address":
        if not isinstance(value, str) or not is_hex_address(value):
            raise InvalidTypedData(f"field={declared.name} must be a hex address")
        return str(to_checksum_address(value))
    if not isinstance(value, str) or not 0 < len(value) <= STRING_MAX:
        raise InvalidTypedData(f"field={declared.name} must be a string of 1..{STRING_MAX}")
    return value


def epoch_seconds(instant: datetime) -> int:
    """Whole seconds since the Unix epoch (floored), as ``deadline`` fields count time."""
    if instant.tzinfo is None:
        raise InvalidTypedData("instants must be timezone-aware")
    return (instant - _EPOCH) // timedelta(seconds=1)


def signature_bytes(signature: object) -> bytes | None:
    """The 65 bytes of a well-formed, low-``s`` signature string, or ``None``."""
    if not isinstance(signature, str) or _SIGNATURE.fullmatch(signature) is None:
        return None
    raw = bytes.fromhex(signature[2:])
    r = int.from_bytes(raw[:32], "big")
    s = int.from_bytes(raw[32:64], "big")
    if not (0 < r < SECP256K1_N and 0 < s <= SECP256K1_N // 2 and raw[64] in (0, 1, 27, 28)):
        return None
    return raw


def recover_typed_signer(document: object, signature: object) -> str | None:
    """Return the EIP-55 address that signed ``document``, or ``None``; never raise.

    A recovered address proves nothing on its own: compare it with the expected signer.
    """
    raw = signature_bytes(signature)
    if raw is None or not isinstance(document, Mapping):
        return None
    try:
        signable = encode_typed_data(full_message=dict(document))
        recovered = Account.recover_message(signable, signature=raw)
    except Exception:  # eth-account/eth-keys raise many kinds on odd input; all mean "no"
        return None
    return str(recovered)


def sign_typed_document(document: Mapping[str, Any], private_key: str | bytes) -> str:
    """Sign ``document`` with ``private_key``; return the ``0x`` signature."""
    try:
        account = Account.from_key(private_key)
    except Exception:  # the key's own bytes must never reach a message or a log
        raise VaultMisconfigured("the signing key is not a secp256k1 private key") from None
    signed = account.sign_message(encode_typed_data(full_message=dict(document)))
    return str(signed.signature.to_0x_hex())


def address_of_key(private_key: str | bytes) -> str:
    """The EIP-55 address of ``private_key`` (to check a key against its configured signer)."""
    try:
        return str(Account.from_key(private_key).address)
    except Exception:
        raise VaultMisconfigured("the signing key is not a secp256k1 private key") from None


class SignedDocument(NamedTuple):
    """A typed-data document and the ``0x`` signature over it (withdrawals, payouts)."""

    typed_data: dict[str, Any]
    signature: str


def record_nonce(record_id: UUID) -> int:
    """The vault nonce of an authorization record: its id as a 128-bit integer, so there
    is exactly one nonce per record (a refund, a payout row) and re-signing keeps it."""
    return record_id.int


def positive_wei(amount: object) -> int:
    """``amount`` if it is a positive integer of wei, else ``InvalidTypedData``."""
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise InvalidTypedData(f"amount_wei={amount!r} must be a positive integer of wei")
    return amount
