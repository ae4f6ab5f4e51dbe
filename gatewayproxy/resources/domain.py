"""What the custom domain's resources share ([api.domain]): the hosted zone it lives in, the
check before any write (zone, certificate), the names the state keeps, and `status`'s words.

The kinds: acm_certificate.py (requested when the config names none), dns_validation_record.py
(its CNAME in the zone), custom_domain.py (the REGIONAL domain name), base_path_mapping.py
(the whole domain -> the stage), dns_alias.py (A and AAAA alias records in the zone).
"""

from __future__ import annotations

from typing import Any

from gatewayproxy.config import Domain
from gatewayproxy.context import Context
from gatewayproxy.errors import AwsError, ConfigError
from gatewayproxy.resources.base import Found, Health, Resource

STEP = "rest_api"
CERTIFICATE = "domain_certificate_arn"  # state: the certificate gatewayproxy requested
VALIDATION = "domain_validation_record"  # state: {"zone", "name"} of its CNAME
DOMAIN = "domain_name"  # state: the custom domain name as created
MAPPING = "domain_mapping"  # state: "<domain>/(none)"
ALIAS = "domain_alias"  # state: {"zone", "name"} of the A/AAAA alias records
ZONE = "domain_zone_id"  # state: the hosted zone the records went into
URL = "domain_url"  # state: https://<domain>/, what `url` prints
NODES = (CERTIFICATE, VALIDATION, DOMAIN, MAPPING, ALIAS)
_ZONE_READ = "domain.zone"
# ACM's statuses that never become ISSUED (DescribeCertificate, CertificateDetail.Status).
CERTIFICATE_FAILED = frozenset({"FAILED", "VALIDATION_TIMED_OUT", "REVOKED", "EXPIRED",
                                "INACTIVE"})


def wanted(ctx: Context) -> Domain | None:
    return ctx.config.domain


def hostname(ctx: Context) -> str:
    """The domain as the config has it, else as the state recorded it (removed from the config)."""
    domain = ctx.config.domain
    return domain.name if domain else str(ctx.state.get(STEP, DOMAIN) or "custom domain")


def requests_certificate(ctx: Context) -> bool:
    domain = ctx.config.domain
    return domain is not None and domain.certificate_arn is None


def fqdn(name: str) -> str:
    return name.rstrip(".") + "."


TARGET = f"{STEP}.domain_target"  # output: {"DNSName", "HostedZoneId"} of the custom domain


def target(ctx: Context) -> dict[str, str] | None:
    """Where DNS should point: the custom domain's regional name and its zone, as the custom
    domain published it (up, plan), else read (status); None before it exists."""
    found = ctx.outputs.get(TARGET)
    if found is not None or ctx.command not in ("status", "down"):
        return found
    name = ctx.state.get(STEP, DOMAIN)
    answer = ctx.aws.find("apigateway", "get_domain_name", domainName=name) if name else None
    if answer is None:
        return None
    found = target_of(answer)
    ctx.outputs.publish(TARGET, found)
    return found


def target_of(answer: Found) -> dict[str, str]:
    return {"DNSName": answer["regionalDomainName"],
            "HostedZoneId": answer["regionalHostedZoneId"]}


# -- the hosted zone -----------------------------------------------------------------------------
def zone(ctx: Context) -> Found | None:
    """The public hosted zone the domain's records go into ({"Id", "Name"}), or None: found by
    `check` (up, plan), else read again (status, down): by the config, then the state."""
    with ctx.reads_lock:
        if _ZONE_READ in ctx.reads:
            found: Found | None = ctx.reads[_ZONE_READ]
            return found
    domain = ctx.config.domain
    found = None
    try:
        if domain is not None:
            found = resolve_zone(ctx, domain)
    except ConfigError:
        found = None
    if found is None and ctx.state.get(STEP, ZONE):
        found = {"Id": ctx.state.get(STEP, ZONE), "Name": ""}
    with ctx.reads_lock:
        ctx.reads[_ZONE_READ] = found
    return found


def resolve_zone(ctx: Context, domain: Domain) -> Found | None:
    """By the config's id (it must be public and hold the name), else the account's public
    zone whose name is the longest suffix of the domain; None when there is none."""
    if domain.hosted_zone_id:
        return _zone_by_id(ctx, domain)
    labels = domain.name.split(".")
    # ListHostedZonesByName lists zones in order from DNSName on ("com.example.api" order),
    # so a parent zone sorts before the domain: each suffix is asked for by its own name,
    # longest first (Route 53 API Reference, ListHostedZonesByName).
    for start in range(len(labels) - 1):
        suffix = fqdn(".".join(labels[start:]))
        answer = ctx.aws.call("route53", "list_hosted_zones_by_name", DNSName=suffix,
                              MaxItems="100")
        public = [z for z in answer.get("HostedZones", [])
                  if z["Name"] == suffix and not z.get("Config", {}).get("PrivateZone")]
        if len(public) > 1:
            raise ConfigError(f"api.domain.name {domain.name}: this account has "
                              f"{len(public)} public hosted zones named {suffix}; set "
                              "api.domain.hosted_zone_id to the one to use")
        if public:
            return {"Id": zone_id(public[0]["Id"]), "Name": suffix}
    return None


def _zone_by_id(ctx: Context, domain: Domain) -> Found:
    try:
        answer = ctx.aws.call("route53", "get_hosted_zone", Id=domain.hosted_zone_id)
    except AwsError as exc:
        if exc.code != "NoSuchHostedZone":
            raise
        raise ConfigError(f"api.domain.hosted_zone_id {domain.hosted_zone_id} is not a hosted "
                          "zone of this account") from None
    found = answer["HostedZone"]
    if found.get("Config", {}).get("PrivateZone"):
        raise ConfigError(f"api.domain.hosted_zone_id {domain.hosted_zone_id} is a private "
                          "zone; the domain needs a public one")
    name = fqdn(found["Name"])
    if not (fqdn(domain.name) == name or fqdn(domain.name).endswith("." + name)):
        raise ConfigError(f"api.domain.hosted_zone_id {domain.hosted_zone_id} is the zone "
                          f"{name.rstrip('.')}, which does not hold {domain.name}")
    return {"Id": zone_id(found["Id"]), "Name": name}


def zone_id(raw: str) -> str:
    return raw.removeprefix("/hostedzone/")


# -- before any write ----------------------------------------------------------------------------
def check(ctx: Context) -> None:
    """Before any write (up, plan): the zone is found, and a certificate the config names is in
    the stack's region, ISSUED and covers the name; without both, refuse saying what to give."""
    domain = ctx.config.domain
    if domain is None:
        return
    found = resolve_zone(ctx, domain)
    with ctx.reads_lock:
        ctx.reads[_ZONE_READ] = found
    if domain.certificate_arn is None:
        if found is None:
            raise ConfigError(
                f"api.domain.name {domain.name}: no certificate_arn and no public hosted zone "
                "for it in this account; give api.domain.certificate_arn, or create a public "
                "hosted zone for the domain in this account")
        return
    check_certificate(ctx, domain.name, domain.certificate_arn)


def check_certificate(ctx: Context, name: str, arn: str) -> None:
    """A REGIONAL domain takes an ACM certificate of its own region ("Set up a Regional custom
    domain name in API Gateway": "This certificate must be in the same Region as your API"),
    one that is issued and names the domain."""
    key = "api.domain.certificate_arn"
    region = arn.split(":")[3]
    if region != ctx.aws.region:
        raise ConfigError(f"{key} is in {region}; a REGIONAL custom domain needs a certificate "
                          f"in the stack's region {ctx.aws.region}")
    found = ctx.aws.find("acm", "describe_certificate", CertificateArn=arn)
    if found is None:
        raise ConfigError(f"{key} {arn} does not exist in this account")
    detail = found["Certificate"]
    status = detail.get("Status")
    if status != "ISSUED":
        raise ConfigError(f"{key} is {status}; API Gateway needs an issued certificate")
    names = {detail.get("DomainName", ""), *detail.get("SubjectAlternativeNames", [])}
    if not covers(names, name):
        raise ConfigError(f"{key} covers {', '.join(sorted(n for n in names if n))}, "
                          f"not {name}")


def covers(names: set[str], name: str) -> bool:
    """The name itself, or a wildcard one level up (`*.example.com` covers `api.example.com`,
    not `a.api.example.com`: ACM's wildcard names cover one label)."""
    parent = name.split(".", 1)[1]
    return any(n.lower() == name or n.lower() == f"*.{parent}" for n in names)


# -- status --------------------------------------------------------------------------------------
def status(healths: list[tuple[Resource, Health]]) -> tuple[list[str], dict[str, Any], bool]:
    """The domain's lines in the rest_api step's status, its JSON details, and its health."""
    mine = [(r, h) for r, h in healths if r.key in NODES and h.ok is not None]
    if not mine:
        return [], {}, True
    details: dict[str, Any] = {}
    for _, health in mine:  # a part's word (the alias: DNS points here) beats a blank
        for key, value in health.details.get("domain", {}).items():
            if isinstance(value, dict):
                details[key] = {**details.get(key, {}),
                                **{k: v for k, v in value.items() if v is not None}}
            else:
                details.setdefault(key, value)
    return [h.summary for _, h in mine], {"domain": details}, all(h.ok for _, h in mine)
