"""``GET /metrics``: the Prometheus text format of every metric (``adapters/metrics.py``).

Unauthenticated like the health routes, for a scraper on the operators' network; it
reveals counts and states, never records or secrets. Keep it off the public listener.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST

router = APIRouter(tags=["health"])


@router.get("/metrics", response_class=Response)
def metrics(request: Request) -> Response:
    """Every metric, read now."""
    return Response(request.app.state.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)
