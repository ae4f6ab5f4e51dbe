"""Lambda invoke permissions: one statement per Lambda route and method in the function's
policy, letting this API (any stage, that method and path) invoke it. The functions are the
user's: gatewayproxy only adds and removes its own statements (ids `gatewayproxy-<stack>--...`).

The state keeps the functions it may have touched ("lambda_functions", recorded before the
first add), so `down` after a crash knows which policies to clean even if the config changed.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, ClassVar

from gatewayproxy.config import Route
from gatewayproxy.context import Context
from gatewayproxy.resources import api_access
from gatewayproxy.resources import rest_api as api
from gatewayproxy.resources.base import FieldChange, Found, Resource

FUNCTIONS_KEY = "lambda_functions"
_LOCK = threading.Lock()


def _remember(ctx: Context, function_arn: str) -> None:
    with _LOCK:
        known = set(ctx.state.get(api.STEP, FUNCTIONS_KEY) or [])
        if function_arn not in known:
            ctx.state.record(api.STEP, FUNCTIONS_KEY, sorted(known | {function_arn}))


def wanted(ctx: Context, api_id: str | None) -> dict[str, dict[str, str]]:
    """function ARN -> statement id -> source ARN, for the Lambda routes of the config."""
    functions = api.functions(ctx)
    if api_id is None or any(r.function not in functions for r in ctx.config.routes
                             if r.function):
        return {}
    return api_access.wanted_permissions(ctx, api_id, functions)


@dataclass
class LambdaPermission(Resource):
    route: Route | None = None
    method: str = "POST"
    kind: ClassVar[str] = "Lambda permission"
    FORCE_NEW: ClassVar[frozenset[str]] = frozenset({"source_arn"})

    @property
    def _route(self) -> Route:
        assert self.route is not None
        return self.route

    def name(self, ctx: Context) -> str:
        return f"{self._route.function} {self.method} {self._route.path}"

    def _sid(self, ctx: Context) -> str:
        return api_access.statement_id(ctx, self._route, self.method)

    def _function(self, ctx: Context) -> str | None:
        return api.functions(ctx).get(str(self._route.function))

    def identity(self, found: Found) -> Any:
        return found["function"]

    def record(self, ctx: Context, found: Found) -> None:
        _remember(ctx, found["function"])

    def forget(self, ctx: Context) -> None:
        pass  # the sweep (and the API's deletion) keep "lambda_functions" up to date

    def recorded(self, ctx: Context) -> Any:
        return None  # `status` does not read function policies

    def find(self, ctx: Context) -> Found | None:
        function, api_id = self._function(ctx), api.api_id(ctx)
        if function is None or api_id is None:
            return None
        sid = self._sid(ctx)
        source = api_access.our_statements(ctx, function).get(sid, "")
        if source == "":
            return None
        return {"function": function, "sid": sid, "source_arn": source}

    def diff(self, ctx: Context, found: Found) -> list[FieldChange]:
        want = api_access.source_arn(ctx, str(api.api_id(ctx)), self._route, self.method)
        return [] if found["source_arn"] == want else [
            FieldChange("source_arn", found["source_arn"], want)]

    def create(self, ctx: Context) -> Found:
        function = self._function(ctx)
        assert function is not None  # check() resolved every function before any write
        source = api_access.source_arn(ctx, str(api.api_id(ctx)), self._route, self.method)
        found = {"function": function, "sid": self._sid(ctx), "source_arn": source}
        self.record(ctx, found)  # before the add: after a crash, `down` knows the function
        api_access._add_permission(ctx, function, found["sid"], source)
        return found

    def delete(self, ctx: Context, found: Found) -> None:
        api_access._remove_permission(ctx, found["function"], found["sid"])


@dataclass
class PermissionSweep(Resource):
    """The stack's statements no Lambda route has any more (a route removed, a function
    changed), in every function the state or the config names. Never a resource of its own:
    only its leftovers are deleted, once the wanted permissions are in place."""

    kind: ClassVar[str] = "Lambda permission"

    def name(self, ctx: Context) -> str:
        return "stale statements"

    def wanted(self, ctx: Context) -> bool:
        return False

    def find(self, ctx: Context) -> Found | None:
        return None

    def recorded(self, ctx: Context) -> Any:
        return None

    def identity(self, found: Found) -> Any:
        return None

    def stale(self, ctx: Context) -> list[Found]:
        api_id = api.api_id(ctx)
        want = wanted(ctx, api_id)
        functions = set(ctx.state.get(api.STEP, FUNCTIONS_KEY) or []) | set(want)
        items = []
        for function in sorted(functions):
            for sid, source in api_access.our_statements(ctx, function).items():
                if want.get(function, {}).get(sid) != source:
                    items.append({"function": function, "sid": sid})
        return items

    def stale_name(self, ctx: Context, found: Found) -> str:
        return f"{found['function'].split(':')[6]} {found['sid']}"

    def delete(self, ctx: Context, found: Found) -> None:
        api_access._remove_permission(ctx, found["function"], found["sid"])

    def forget(self, ctx: Context) -> None:
        """Only the functions the routes still use stay recorded."""
        want = sorted(wanted(ctx, api.api_id(ctx)))
        with _LOCK:
            if want:
                ctx.state.record(api.STEP, FUNCTIONS_KEY, want)
            else:
                ctx.state.forget(api.STEP, FUNCTIONS_KEY)
