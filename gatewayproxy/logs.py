"""`gatewayproxy logs`: the container's CloudWatch log events, once or followed."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from gatewayproxy.aws import Aws
from gatewayproxy.errors import AwsError, ConfigError, GatewayProxyError

SINCE = re.compile(r"^(\d+)([smhd])$")
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
FOLLOW_SECONDS = 2.0


def parse_since(text: str) -> int:
    """'10m' -> 600 seconds."""
    match = SINCE.fullmatch(text.strip())
    if not match:
        raise ConfigError(f"--since {text!r}: use a number and a unit, like 30s, 10m, 2h or 1d")
    return int(match.group(1)) * UNITS[match.group(2)]


def events(aws: Aws, group: str, since_seconds: int, follow: bool,
           now_ms: int | None = None) -> Iterator[str]:
    """Log lines from `since_seconds` ago; with `follow`, keep polling for new ones."""
    start = (now_ms if now_ms is not None else _now_ms()) - since_seconds * 1000
    seen: set[str] = set()
    while True:
        newest = start
        for event in _page_through(aws, group, start):
            if event["eventId"] in seen:
                continue
            seen.add(event["eventId"])
            newest = max(newest, event["timestamp"])
            yield _line(event)
        if not follow:
            return
        start = newest
        aws.clock.sleep(FOLLOW_SECONDS)


def _page_through(aws: Aws, group: str, start: int) -> Iterator[dict[str, Any]]:
    kwargs: dict[str, Any] = {"logGroupName": group, "startTime": start}
    while True:
        try:
            page = aws.call("logs", "filter_log_events", **kwargs)
        except AwsError as exc:
            if exc.code == "ResourceNotFoundException":
                raise GatewayProxyError(f"log group {group} does not exist: run `gatewayproxy up`"
                                        ) from None
            raise
        yield from sorted(page.get("events", []), key=lambda e: e["timestamp"])
        if not page.get("nextToken"):
            return
        kwargs["nextToken"] = page["nextToken"]


def _line(event: dict[str, Any]) -> str:
    when = datetime.fromtimestamp(event["timestamp"] / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    task = event.get("logStreamName", "").rsplit("/", 1)[-1][:8]
    return f"{when} {task} {event['message'].rstrip()}"


def _now_ms() -> int:
    return int(datetime.now(tz=UTC).timestamp() * 1000)
