"""Sign in to a running server with Sign-In with Ethereum, using a throw-away local key.

Usage: .venv/bin/python docs/examples/siwe_sign_in.py [BASE_URL]
Prints the /v1/me response. The key is random, so every run signs in a new wallet.
"""

from __future__ import annotations

import json
import sys

import httpx
from eth_account import Account
from eth_account.messages import encode_defunct


def main(base_url: str) -> None:
    """Run challenge, sign, verify and /v1/me against ``base_url``."""
    wallet = Account.create()
    with httpx.Client(base_url=base_url, timeout=10) as client:
        challenge = client.post(
            "/v1/auth/siwe/challenge", json={"address": wallet.address, "chainId": 1}
        ).json()
        signature = wallet.sign_message(encode_defunct(text=challenge["message"])).signature
        session = client.post(
            "/v1/auth/siwe/verify",
            json={
                "message": challenge["message"],
                "signature": signature.to_0x_hex(),
            },
        ).json()
        me = client.get("/v1/me", headers={"Authorization": f"Bearer {session['accessToken']}"})
    print(json.dumps(me.json(), indent=2))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000")
