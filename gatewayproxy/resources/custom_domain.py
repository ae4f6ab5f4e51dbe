"""The API Gateway custom domain name: REGIONAL, TLS 1.2, on the certificate the config names
or the one gatewayproxy requested (acm_certificate.py). Domain names are unique per account
and region: one that exists without this stack's tag is someone else's and is refused."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from gatewayproxy.context import Context
from gatewayproxy.errors import AwsError, NotOurs
from gatewayproxy.resources import domain
from gatewayproxy.resources.base import FieldChange, Found, Health, Resource

# Just after the certificate is issued, API Gateway may not accept it for a moment.
CERTIFICATE_NOT_YET = ("BadRequestException:certificate",)


def certificate_arn(ctx: Context) -> str | None:
    """The certificate the domain should use: the config's, else the one requested."""
    given = ctx.config.domain.certificate_arn if ctx.config.domain else None
    return given or ctx.outputs.get(f"{domain.STEP}.certificate_arn") or (
        None if ctx.outputs.planning else ctx.state.get(domain.STEP, domain.CERTIFICATE))


def url(name: str) -> str:
    """The whole domain maps to the stage: no stage in the path."""
    return f"https://{name}/"


def dns_instruction(name: str, found: Found) -> str:
    """The record a user without the zone in this account must create."""
    return f"create DNS record: {name} CNAME {found.get('regionalDomainName')}"


# Dual-stack, so the AAAA alias answers: "The default IP address type for API Gateway custom
# domain names for public APIs is IPv4" ("IP address types for custom domain names in API
# Gateway", docs.aws.amazon.com/apigateway/latest/developerguide/rest-custom-domain-ip-address-type.html).
IP_ADDRESS_TYPE = "dualstack"
ENDPOINT = {"types": ["REGIONAL"], "ipAddressType": IP_ADDRESS_TYPE}


def ip_address_type(found: Found) -> str:
    return str((found.get("endpointConfiguration") or {}).get("ipAddressType") or "ipv4")


@dataclass
class CustomDomain(Resource):
    kind: ClassVar[str] = "custom domain"
    FORCE_NEW: ClassVar[frozenset[str]] = frozenset({"name"})

    def name(self, ctx: Context) -> str:
        return domain.hostname(ctx)

    def wanted(self, ctx: Context) -> bool:
        return ctx.config.domain is not None

    def identity(self, found: Found) -> Any:
        return found["domainName"]

    def find(self, ctx: Context) -> Found | None:
        """The recorded one (a renamed domain: the old one, replaced), else the wanted name,
        which must carry this stack's tag."""
        for name in dict.fromkeys(n for n in (self.recorded(ctx), ctx.config.domain
                                              and ctx.config.domain.name) if n):
            found = ctx.aws.find("apigateway", "get_domain_name", domainName=name)
            if found is None:
                continue
            if not ctx.owns(found.get("tags") or {}):
                raise NotOurs(f"a custom domain name {name} exists in this account and "
                              f"region but is not stack {ctx.stack}'s; delete it or choose "
                              "another api.domain.name")
            return dict(found)
        return None

    def diff(self, ctx: Context, found: Found) -> list[FieldChange]:
        assert ctx.config.domain is not None
        changes = []
        if found["domainName"] != ctx.config.domain.name:
            changes.append(FieldChange("name", found["domainName"], ctx.config.domain.name))
        wanted = certificate_arn(ctx)
        current = found.get("regionalCertificateArn")
        if wanted is not None and current != wanted:
            changes.append(FieldChange("certificate_arn", current, wanted))
        if ip_address_type(found) != IP_ADDRESS_TYPE:
            changes.append(FieldChange("ip_address_type", ip_address_type(found),
                                       IP_ADDRESS_TYPE))
        if found.get("securityPolicy") not in (None, "TLS_1_2"):
            changes.append(FieldChange("security_policy", found.get("securityPolicy"),
                                       "TLS_1_2"))
        return changes

    def create(self, ctx: Context) -> Found:
        assert ctx.config.domain is not None
        name = ctx.config.domain.name
        try:
            # "Set up a Regional custom domain name in API Gateway": a REGIONAL endpoint takes
            # regionalCertificateArn (certificateArn is the edge-optimized one).
            found = ctx.aws.call("apigateway", "create_domain_name", domainName=name,
                                 regionalCertificateArn=certificate_arn(ctx),
                                 endpointConfiguration=ENDPOINT,
                                 securityPolicy="TLS_1_2", tags=ctx.tags(self.step, "domain"),
                                 retry=CERTIFICATE_NOT_YET)
        except AwsError as exc:
            if exc.code != "ConflictException":
                raise
            found = self.find(ctx)  # made by a run cut short before its state was written
            if found is None:
                raise
        self.record(ctx, found)
        return dict(found)

    def update(self, ctx: Context, found: Found, changes: list[FieldChange]) -> Found:
        ops = [{"op": "replace", "path": "/regionalCertificateArn", "value": certificate_arn(ctx)}
               for c in changes if c.field == "certificate_arn"]
        ops += [{"op": "replace", "path": "/securityPolicy", "value": "TLS_1_2"}
                for c in changes if c.field == "security_policy"]
        ops += [{"op": "replace", "path": "/endpointConfiguration/ipAddressType",
                 "value": IP_ADDRESS_TYPE}
                for c in changes if c.field == "ip_address_type"]
        done = ctx.aws.call("apigateway", "update_domain_name", domainName=found["domainName"],
                            patchOperations=ops, retry=CERTIFICATE_NOT_YET)
        return {**found, **done}

    def delete(self, ctx: Context, found: Found) -> None:
        # The base path mapping and the alias records (its readers) went first.
        ctx.aws.find("apigateway", "delete_domain_name", domainName=found["domainName"])

    def forget(self, ctx: Context) -> None:
        for key in (self.key, domain.URL):
            ctx.state.forget(self.step, key)

    def publish(self, ctx: Context, found: Found) -> None:
        ctx.outputs.publish(domain.TARGET, domain.target_of(found))
        if ctx.config.domain is not None and found["domainName"] == ctx.config.domain.name:
            ctx.state.record(self.step, domain.URL, url(found["domainName"]))
            ctx.outputs.publish(f"{self.step}.domain_url", url(found["domainName"]))
            if domain.zone(ctx) is None:
                ctx.outputs.publish(f"{self.step}.domain_dns", dns_instruction(
                    found["domainName"], found))

    def health(self, ctx: Context, found: Found) -> Health:
        name = found["domainName"]
        arn = found.get("regionalCertificateArn")
        certificate = (ctx.aws.find("acm", "describe_certificate", CertificateArn=arn)
                       if arn else None)
        status = (certificate or {}).get("Certificate", {}).get("Status", "missing")
        requested = arn == ctx.state.get(self.step, domain.CERTIFICATE)
        state = found.get("domainNameStatus", "AVAILABLE")
        zone = domain.zone(ctx)
        lines = [f"custom domain {url(name)} {state}, certificate {status}"]
        if zone is None:
            lines.append(dns_instruction(name, found) + " (no hosted zone of it in this account)")
        details = {"domain": {
            "name": name, "url": url(name), "status": state,
            "regional_domain_name": found.get("regionalDomainName"),
            "default_endpoint": "disabled" if ctx.config.domain and
            ctx.config.domain.disable_default_endpoint else "enabled",
            "certificate": {"arn": arn, "status": status,
                            "requested_by": "gatewayproxy" if requested else "user"},
            "dns": {"zone_id": zone["Id"] if zone else None, "points_here": None,
                    "record": None if zone else
                    f"{name} CNAME {found.get('regionalDomainName')}"}}}
        return Health(status == "ISSUED" and state in ("AVAILABLE", "UPDATING"),
                      "\n".join(lines), details)

