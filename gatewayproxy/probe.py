"""Step ten: ask the invoke URL once the stack is up (real AWS only; never on an emulator)."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Callable

from gatewayproxy.config import Config

ATTEMPTS = 12
PAUSE_SECONDS = 10.0


def sample_path(cfg: Config) -> str:
    """A concrete path of a route that answers GET, with path parameters filled in."""
    for route in cfg.routes:
        if "GET" in route.methods or "ANY" in route.methods:
            parts = ["gatewayproxy" if p.startswith("{") else p for p in route.parts]
            return "/" + "/".join(parts)
    return "/"


def check(url: str, cfg: Config, sleep: Callable[[float], None] = time.sleep,
          attempts: int = ATTEMPTS, pause: float = PAUSE_SECONDS) -> str:
    """One line saying whether the container answered through the gateway."""
    target = url + sample_path(cfg)
    last = ""
    for attempt in range(attempts):
        try:
            with urllib.request.urlopen(target, timeout=10) as response:
                return f"answers: GET {target} -> HTTP {response.status}"
        except urllib.error.HTTPError as exc:
            if exc.code < 500:
                return f"answers: GET {target} -> HTTP {exc.code} (from the container)"
            last = f"HTTP {exc.code}"
        except (urllib.error.URLError, OSError) as exc:
            last = str(getattr(exc, "reason", exc))
        if attempt + 1 < attempts:
            sleep(pause)
    return (f"warning: GET {target} did not answer yet ({last}); the VPC link may still be "
            "warming up: check `gatewayproxy status` in a minute")
