"""Step ten: ask the invoke URL once the stack is up (real AWS only; never on an emulator).

Only a public route to the service is asked (auth "none", not a Lambda route): it is the one a
plain GET can reach, and it is the one that goes through the VPC link and the NLB. The status
code is reported as it is: API Gateway itself answers 403 (missing API key, unsigned IAM call,
unknown path) and 429 (throttling), so a 4xx does not say who answered.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Callable

from gatewayproxy.config import Config, Route

ATTEMPTS = 12
PAUSE_SECONDS = 10.0


def public_get_route(cfg: Config) -> Route | None:
    """The first route anyone may GET that goes to the service."""
    return next((r for r in cfg.routes if r.auth == "none" and not r.function
                 and ("GET" in r.methods or "ANY" in r.methods)), None)


def sample_path(route: Route) -> str:
    """A concrete path of the route, with path parameters filled in."""
    return "/" + "/".join("gatewayproxy" if p.startswith("{") else p for p in route.parts)


def check(url: str, cfg: Config, sleep: Callable[[float], None] = time.sleep,
          attempts: int = ATTEMPTS, pause: float = PAUSE_SECONDS) -> str:
    """One line: the HTTP status a public GET got, or why there was none."""
    route = public_get_route(cfg)
    if route is None:
        return ("check skipped: no route with auth = \"none\" answers GET to the service "
                "(use --no-check to silence this)")
    target = url + sample_path(route)
    last = ""
    for attempt in range(attempts):
        try:
            with urllib.request.urlopen(target, timeout=10) as response:
                return f"answers: GET {target} -> HTTP {response.status}"
        except urllib.error.HTTPError as exc:
            if exc.code < 500:  # who answered (API Gateway or the container) is not known
                return f"answers: GET {target} -> HTTP {exc.code}"
            last = f"HTTP {exc.code}"
        except (urllib.error.URLError, OSError) as exc:
            last = str(getattr(exc, "reason", exc))
        if attempt + 1 < attempts:
            sleep(pause)
    return (f"warning: GET {target} did not answer yet ({last}); the VPC link may still be "
            "warming up: check `gatewayproxy status` in a minute")
