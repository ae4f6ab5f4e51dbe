"""The API's stage: a deployment of the routes, with the stage settings (throttling, access
logs). Its description carries the hash of what is deployed, written last, so an `up` with the
same config writes nothing and a run cut short redeploys."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from gatewayproxy.context import Context
from gatewayproxy.errors import AwsError
from gatewayproxy.resources import api_access
from gatewayproxy.resources import rest_api as api
from gatewayproxy.resources.base import UNKNOWN, FieldChange, Found, Health, Resource


@dataclass
class ApiStage(Resource):
    """Renamed in the config: the new stage is made, the old one deleted (before the VPC link
    no longer used, see `on_ready`)."""

    kind: ClassVar[str] = "API stage"

    def name(self, ctx: Context) -> str:
        return ctx.config.stage

    def identity(self, found: Found) -> Any:
        return found["deploymentId"]

    def find(self, ctx: Context) -> Found | None:
        return api.stage(ctx)

    def diff(self, ctx: Context, found: Found) -> list[FieldChange]:
        deployed, wanted = api.deployed_hash(ctx), api.digest(ctx)
        if deployed == wanted:
            return []
        old_routes, _, old_settings = (deployed or "").partition(".")
        new_routes, _, new_settings = wanted.partition(".")
        changes = []
        if old_routes != new_routes:
            changes.append(FieldChange("deployment", found.get("deploymentId"), UNKNOWN))
        if old_settings != new_settings:
            changes.append(FieldChange("settings", "throttling / access logs as deployed",
                                       "as in the config"))
        return changes

    def create(self, ctx: Context) -> Found:
        return self._deploy(ctx)

    def update(self, ctx: Context, found: Found, changes: list[FieldChange]) -> Found:
        return self._deploy(ctx)

    def _deploy(self, ctx: Context) -> Found:
        """Deploy, point the stage at it and apply the stage settings; the hash goes last, in
        the same call as the settings, so a run cut short anywhere here is redone next time."""
        api_id, digest = api.api_id(ctx), api.digest(ctx)
        deployment = ctx.aws.call("apigateway", "create_deployment", restApiId=api_id,
                                  description=f"{api.MARKER}{digest}")
        ops: list[dict[str, str]] = []
        stage = ctx.aws.find("apigateway", "get_stage", restApiId=api_id,
                             stageName=ctx.config.stage)
        if stage is not None:
            ops.append({"op": "replace", "path": "/deploymentId", "value": deployment["id"]})
        else:
            stage = ctx.aws.call("apigateway", "create_stage", restApiId=api_id,
                                 stageName=ctx.config.stage, deploymentId=deployment["id"],
                                 description=f"{api.MARKER}(settings pending)",
                                 tags=ctx.tags(api.STEP, "stage"))
        ctx.state.record(api.STEP, self.key, deployment["id"])
        ops += api_access.settings_patch(ctx, stage)
        ops.append({"op": "replace", "path": "/description", "value": f"{api.MARKER}{digest}"})
        update: dict[str, Any] = {"restApiId": api_id, "stageName": ctx.config.stage,
                                  "patchOperations": ops}
        try:
            done = ctx.aws.call("apigateway", "update_stage", **update)
        except AwsError as exc:
            if exc.code != "BadRequestException" or "CloudWatch Logs role" not in exc.aws_message:
                raise
            # Access logs need the account's CloudWatch role: only now, when AWS says none is
            # set, is it made (account-wide, never deleted).
            api_access.ensure_account_log_role(ctx)
            done = ctx.aws.call("apigateway", "update_stage", **update,
                                retry=(api_access.NO_LOG_ROLE,), retry_for=120.0)
        return {**stage, **done, "deploymentId": deployment["id"]}

    def stale(self, ctx: Context) -> list[Found]:
        api_id = api.api_id(ctx)
        if api_id is None:
            return []
        # None: the API itself is gone (a `down` cut short after deleting it).
        stages = (ctx.aws.find("apigateway", "get_stages", restApiId=api_id) or {}).get("item", [])
        return [dict(s) for s in stages if s["stageName"] != ctx.config.stage]

    def stale_name(self, ctx: Context, found: Found) -> str:
        return str(found["stageName"])

    def recorded(self, ctx: Context) -> Any:
        """State files of earlier versions may lack the deployment: the API's id says enough
        for `status` to read the stage."""
        return ctx.state.get(api.STEP, self.key) or ctx.state.get(api.STEP, "rest_api_id")

    def publish(self, ctx: Context, found: Found) -> None:
        url = api.invoke_url(str(api.api_id(ctx)), ctx.aws.region, ctx.config.stage)
        ctx.state.record(api.STEP, "invoke_url", url)
        ctx.outputs.publish("rest_api.invoke_url", url)

    def delete(self, ctx: Context, found: Found) -> None:
        ctx.aws.find("apigateway", "delete_stage", restApiId=api.api_id(ctx),
                     stageName=found["stageName"])
        # Stale stages go before an unused VPC link (the link retires after rest_api is done,
        # leftovers included): AWS refuses to delete a VPC link while any stage's deployment
        # was made with it ("Cannot delete vpc link ... is referenced in
        # [RESTApiId:Method:Resource:Stage]"), even when the integrations point elsewhere now.

    def forget(self, ctx: Context) -> None:
        for key in (self.key, "invoke_url"):
            ctx.state.forget(api.STEP, key)

    def health(self, ctx: Context, found: Found) -> Health:
        access_log = (found.get("accessLogSettings") or {}).get("destinationArn")
        url = api.invoke_url(str(api.api_id(ctx)), ctx.aws.region, ctx.config.stage)
        return Health(True, f"stage {ctx.config.stage} on deployment {found['deploymentId']}",
                      {"stage": ctx.config.stage, "deployment_id": found["deploymentId"],
                       "last_updated": str(found.get("lastUpdatedDate", "")),
                       "invoke_url": url,
                       "access_log_group": access_log.split(":log-group:")[-1] if access_log
                       else None})
