"""The CNAME that proves to ACM that the domain is ours: the record DescribeCertificate names
(DomainValidationOptions[].ResourceRecord), upserted into the domain's public hosted zone as
soon as the requested certificate exists. Route 53 records carry no tags: the state keeps the
zone and name, and only the record ACM names is ever written or deleted."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from gatewayproxy.context import Context
from gatewayproxy.resources import acm_certificate as acm
from gatewayproxy.resources import domain
from gatewayproxy.resources.base import FieldChange, Found, Health, Resource, WaitFor
from gatewayproxy.resources.dns_alias import change, record_sets

# ACM fills in the ResourceRecord a few seconds after RequestCertificate.
RECORD_TIMEOUT = 5 * 60
TTL = 300


def resource_record(certificate: Any) -> dict[str, str] | None:
    """The CNAME ACM asks for, once DescribeCertificate names it."""
    for option in (certificate or {}).get("DomainValidationOptions") or []:
        record = option.get("ResourceRecord")
        if record and record.get("Type") == "CNAME":
            return dict(record)
    return None




@dataclass
class ValidationRecord(Resource):
    kind: ClassVar[str] = "DNS validation record"
    # Ready once the certificate it validates is issued (what the custom domain waits for).
    ready: ClassVar[WaitFor | None] = acm.ISSUED
    FORCE_NEW: ClassVar[frozenset[str]] = frozenset({"name"})

    def name(self, ctx: Context) -> str:
        return domain.hostname(ctx)

    def wanted(self, ctx: Context) -> bool:
        return domain.requests_certificate(ctx) and domain.zone(ctx) is not None

    def identity(self, found: Found) -> Any:
        return {"zone": found["zone"], "name": found["Name"]}

    def find(self, ctx: Context) -> Found | None:
        """The record the state names, else the one the certificate asks for."""
        recorded = self.recorded(ctx)
        if recorded:
            found = self._read(ctx, recorded["zone"], recorded["name"])
            if found is not None:
                return found
        zone, arn = domain.zone(ctx), acm.certificate_arn(ctx)
        if zone is None or not arn or not self.wanted(ctx):
            return None
        record = resource_record(acm.describe(ctx, arn))
        return self._read(ctx, zone["Id"], record["Name"]) if record else None

    def _read(self, ctx: Context, zone: str, name: str) -> Found | None:
        found = next((r for r in record_sets(ctx, zone, name) if r["Type"] == "CNAME"), None)
        return {**found, "zone": zone} if found else None

    def diff(self, ctx: Context, found: Found) -> list[FieldChange]:
        """A renamed domain's certificate asks for a record under the new name: the old one
        goes (ACM names `_<token>.<domain>.`)."""
        name = ctx.config.domain.name if ctx.config.domain else None
        if name is None or str(found["Name"]).lower().endswith("." + domain.fqdn(name)):
            return []
        old = str(found["Name"]).rstrip(".").split(".", 1)[-1]
        return [FieldChange("name", old, name)]

    def create(self, ctx: Context) -> Found:
        zone = domain.zone(ctx)
        assert zone is not None  # wanted() says so
        arn = str(acm.certificate_arn(ctx))
        certificate = ctx.aws.wait_for(
            f"validation record of {domain.hostname(ctx)}",
            lambda: acm.describe(ctx, arn, retry=acm.NOT_YET),
            lambda c: "named" if resource_record(c) else "not named yet",
            done=("named",), timeout=RECORD_TIMEOUT,
            report=lambda m: ctx.report(self.step, m))
        record = resource_record(certificate)
        assert record is not None
        record_set = {"Name": record["Name"], "Type": "CNAME", "TTL": TTL,
                      "ResourceRecords": [{"Value": record["Value"]}]}
        # UPSERT: the same certificate's record may already be there (a run cut short).
        change(ctx, zone["Id"], "UPSERT", [record_set])
        found = {**record_set, "zone": zone["Id"]}
        self.record(ctx, found)
        ctx.state.record(self.step, domain.ZONE, zone["Id"])
        return found

    def forget(self, ctx: Context) -> None:
        super().forget(ctx)
        if not ctx.state.get(self.step, domain.ALIAS):  # the zone is the last record's to drop
            ctx.state.forget(self.step, domain.ZONE)

    def delete(self, ctx: Context, found: Found) -> None:
        # DELETE must repeat the record set exactly as it is (Route 53: "InvalidChangeBatch"
        # otherwise): it is sent as read.
        change(ctx, found["zone"], "DELETE", [{k: v for k, v in found.items() if k != "zone"}])

    def health(self, ctx: Context, found: Found) -> Health:
        return Health(True, f"validation record {found['Name']} in zone {found['zone']}")
