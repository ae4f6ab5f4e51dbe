"""The domain's A and AAAA alias records in its public hosted zone, both to the custom
domain's regional name (Route 53 API Reference, AliasTarget: "For regional APIs, specify the
value of regionalDomainName", with regionalHostedZoneId). Alias queries to AWS resources are
free. One change batch writes both, so they never disagree. Records carry no tags: a record
under the name that is not an alias to our domain is the user's and is never overwritten."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from gatewayproxy.context import Context
from gatewayproxy.errors import AwsError, NotOurs
from gatewayproxy.planned import UNKNOWN, FieldChange
from gatewayproxy.resources import domain
from gatewayproxy.resources.base import Found, Health, Resource

TYPES = ("A", "AAAA")


def record_sets(ctx: Context, zone: str, name: str) -> list[dict[str, Any]]:
    """The record sets named `name` in the zone (one listing from that name on)."""
    try:
        answer = ctx.aws.call("route53", "list_resource_record_sets", HostedZoneId=zone,
                              StartRecordName=domain.fqdn(name), MaxItems="10")
    except AwsError as exc:
        if exc.code == "NoSuchHostedZone":
            return []
        raise
    return [dict(r) for r in answer.get("ResourceRecordSets", [])
            if domain.fqdn(r["Name"]).lower() == domain.fqdn(name).lower()]


def change(ctx: Context, zone: str, action: str, record_sets: list[dict[str, Any]]) -> None:
    """One atomic change batch; a DELETE of what is already gone counts as done."""
    try:
        ctx.aws.call("route53", "change_resource_record_sets", HostedZoneId=zone,
                     ChangeBatch={"Comment": f"gatewayproxy {ctx.stack}",
                                  "Changes": [{"Action": action, "ResourceRecordSet": r}
                                              for r in record_sets]})
    except AwsError as exc:
        gone = exc.code == "NoSuchHostedZone" or (
            exc.code == "InvalidChangeBatch" and "not found" in exc.aws_message.lower())
        if action != "DELETE" or not gone:
            raise


def _target(ctx: Context) -> dict[str, str] | None:
    """Where the records should point: the custom domain's regional name and zone."""
    return domain.target(ctx)


def _points_at(record: dict[str, Any], target: dict[str, str] | None) -> bool:
    alias = record.get("AliasTarget") or {}
    return target is not None and domain.fqdn(alias.get("DNSName", "")).lower() == \
        domain.fqdn(target["DNSName"]).lower()


@dataclass
class AliasRecords(Resource):
    kind: ClassVar[str] = "DNS alias records"
    FORCE_NEW: ClassVar[frozenset[str]] = frozenset({"name"})

    def name(self, ctx: Context) -> str:
        return f"{domain.hostname(ctx)} A, AAAA"

    def wanted(self, ctx: Context) -> bool:
        return ctx.config.domain is not None and domain.zone(ctx) is not None

    def identity(self, found: Found) -> Any:
        return {"zone": found["zone"], "name": found["name"]}

    def find(self, ctx: Context) -> Found | None:
        """The records the state names (ours), else alias records at the wanted name that
        point at our domain; anything else under the name is the user's: refused."""
        recorded = self.recorded(ctx)
        if recorded:
            found = self._read(ctx, recorded["zone"], recorded["name"])
            if found is not None:
                return found
        zone = domain.zone(ctx)
        if zone is None or ctx.config.domain is None:
            return None
        found = self._read(ctx, zone["Id"], ctx.config.domain.name)
        if found is None:
            return None
        target = _target(ctx)
        if not all(_points_at(r, target) for r in found["records"]):
            raise NotOurs(f"zone {zone['Id']} already holds {ctx.config.domain.name} "
                          f"{'/'.join(r['Type'] for r in found['records'])} records that do "
                          "not point at this stack's custom domain; delete them to let "
                          "gatewayproxy create the alias")
        return found

    def _read(self, ctx: Context, zone: str, name: str) -> Found | None:
        records = [r for r in record_sets(ctx, zone, name) if r["Type"] in TYPES]
        return {"zone": zone, "name": name, "records": records} if records else None

    def diff(self, ctx: Context, found: Found) -> list[FieldChange]:
        if ctx.config.domain and found["name"] != ctx.config.domain.name:
            return [FieldChange("name", found["name"], ctx.config.domain.name)]
        target = _target(ctx)
        old = next((r.get("AliasTarget", {}).get("DNSName") for r in found["records"]), None)
        types = sorted(r["Type"] for r in found["records"])
        if target is None:  # plan: the custom domain is made first (or replaced)
            return [FieldChange("target", old, UNKNOWN)]
        if types != sorted(TYPES) or not all(_points_at(r, target) for r in found["records"]):
            return [FieldChange("target", old, target["DNSName"])]
        return []

    def create(self, ctx: Context) -> Found:
        zone = domain.zone(ctx)
        assert zone is not None and ctx.config.domain is not None
        name = ctx.config.domain.name
        # Recorded before the write: a run cut short after it still deletes what it made.
        self.record(ctx, {"zone": zone["Id"], "name": name})
        ctx.state.record(self.step, domain.ZONE, zone["Id"])
        self._upsert(ctx, zone["Id"], name)
        return {"zone": zone["Id"], "name": name, "records": self._wanted_records(ctx, name)}

    def update(self, ctx: Context, found: Found, changes: list[FieldChange]) -> Found:
        self._upsert(ctx, found["zone"], found["name"])
        return {**found, "records": self._wanted_records(ctx, found["name"])}

    def _wanted_records(self, ctx: Context, name: str) -> list[dict[str, Any]]:
        target = ctx.outputs.need(f"{domain.STEP}.domain_target")
        return [{"Name": domain.fqdn(name), "Type": kind,
                 "AliasTarget": {"HostedZoneId": target["HostedZoneId"],
                                 "DNSName": target["DNSName"],
                                 # API Gateway has no health to inherit.
                                 "EvaluateTargetHealth": False}} for kind in TYPES]

    def _upsert(self, ctx: Context, zone: str, name: str) -> None:
        change(ctx, zone, "UPSERT", self._wanted_records(ctx, name))

    def delete(self, ctx: Context, found: Found) -> None:
        # DELETE repeats each record set as Route 53 has it.
        change(ctx, found["zone"], "DELETE", found["records"])

    def forget(self, ctx: Context) -> None:
        super().forget(ctx)
        if not ctx.state.get(self.step, domain.VALIDATION):
            ctx.state.forget(self.step, domain.ZONE)

    def health(self, ctx: Context, found: Found) -> Health:
        target = _target(ctx)
        points = bool(target) and sorted(r["Type"] for r in found["records"]) == sorted(TYPES) \
            and all(_points_at(r, target) for r in found["records"])
        words = "points at the custom domain" if points else "does not point at the custom domain"
        return Health(points, f"DNS {found['name']} A/AAAA alias in zone {found['zone']} {words}",
                      {"domain": {"dns": {"zone_id": found["zone"], "points_here": points,
                                          "records": sorted(r["Type"]
                                                            for r in found["records"])}}})
