"""The custom domain's base path mapping: the whole domain (no base path) to the stack's REST
API and stage, so https://<domain>/x reaches the stage's /x. It is made once the stage exists
(CreateBasePathMapping names a stage that must be deployed)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from gatewayproxy.context import Context
from gatewayproxy.resources import domain
from gatewayproxy.resources import rest_api as api
from gatewayproxy.resources.base import FieldChange, Found, Health, Resource

# GetBasePathMapping / DeleteBasePathMapping name the empty base path "(none)" (API Gateway
# API Reference, BasePathMapping: "Specify '(none)' if you do not want callers to specify any
# base path name after the domain name").
NO_BASE_PATH = "(none)"


@dataclass
class BasePathMapping(Resource):
    kind: ClassVar[str] = "base path mapping"

    def name(self, ctx: Context) -> str:
        return f"{domain.hostname(ctx)} -> {ctx.config.stage}"

    def wanted(self, ctx: Context) -> bool:
        return ctx.config.domain is not None

    def identity(self, found: Found) -> Any:
        return f"{found['domainName']}/{NO_BASE_PATH}"

    def _domain(self, ctx: Context) -> str | None:
        """The domain it hangs on: the custom domain as found or made in this command."""
        recorded = self.recorded(ctx)
        made = ctx.state.get(self.step, domain.DOMAIN)
        if made:
            return str(made)
        return str(recorded).rsplit("/", 1)[0] if recorded else None

    def find(self, ctx: Context) -> Found | None:
        name = self._domain(ctx)
        if name is None:
            return None
        found = ctx.aws.find("apigateway", "get_base_path_mapping", domainName=name,
                             basePath=NO_BASE_PATH)
        return {**found, "domainName": name} if found else None

    def diff(self, ctx: Context, found: Found) -> list[FieldChange]:
        changes = []
        api_id = api.api_id(ctx)
        if api_id is not None and found.get("restApiId") != api_id:
            changes.append(FieldChange("rest_api", found.get("restApiId"), api_id))
        if found.get("stage") != ctx.config.stage:
            changes.append(FieldChange("stage", found.get("stage"), ctx.config.stage))
        return changes

    def create(self, ctx: Context) -> Found:
        name = str(ctx.state.get(self.step, domain.DOMAIN))
        # No basePath: the whole domain (moto and AWS store it as "(none)").
        found = ctx.aws.call("apigateway", "create_base_path_mapping", domainName=name,
                             restApiId=api.api_id(ctx), stage=ctx.config.stage)
        found = {**found, "domainName": name}
        self.record(ctx, found)
        return found

    def update(self, ctx: Context, found: Found, changes: list[FieldChange]) -> Found:
        paths = {"rest_api": "/restapiId", "stage": "/stage"}
        ops = [{"op": "replace", "path": paths[c.field], "value": c.new} for c in changes]
        done = ctx.aws.call("apigateway", "update_base_path_mapping",
                            domainName=found["domainName"], basePath=NO_BASE_PATH,
                            patchOperations=ops)
        return {**found, **done}

    def delete(self, ctx: Context, found: Found) -> None:
        ctx.aws.find("apigateway", "delete_base_path_mapping", domainName=found["domainName"],
                     basePath=NO_BASE_PATH)

    def health(self, ctx: Context, found: Found) -> Health:
        ok = found.get("stage") == ctx.config.stage and found.get("restApiId") == api.api_id(ctx)
        return Health(ok, f"https://{found['domainName']}/ -> {found.get('restApiId')} stage "
                          f"{found.get('stage')}",
                      {"domain": {"mapping": {"rest_api_id": found.get("restApiId"),
                                              "stage": found.get("stage")}}})
