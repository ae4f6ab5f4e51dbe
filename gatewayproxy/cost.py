"""The stack's estimated monthly cost by component, from the list prices in data/prices.json."""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

from gatewayproxy.config import Config


@dataclass(frozen=True)
class Line:
    component: str
    monthly: float | None  # USD; None when it depends on traffic
    basis: str


@dataclass(frozen=True)
class Estimate:
    region: str
    as_of: str
    lines: tuple[Line, ...]

    @property
    def total(self) -> float:
        return sum(line.monthly or 0.0 for line in self.lines)


def prices() -> dict[str, Any]:
    text = resources.files("gatewayproxy").joinpath("data/prices.json").read_text()
    data: dict[str, Any] = json.loads(text)
    return data


def estimate(cfg: Config, region: str) -> Estimate | None:
    """None when the price file has no prices for `region`."""
    data = prices()
    table = data["regions"].get(region)
    if table is None:
        return None
    hours = data["hours_per_month"]
    lines = (
        *way_out_lines(cfg, table, hours),
        Line("Network Load Balancer", table["nlb_hour"] * hours,
             f"1 x ${table['nlb_hour']}/h, plus LCUs"),
        *fargate_lines(cfg, table, hours),
        Line("API Gateway (REST)", None,
             f"${table['rest_api_million_requests']:.2f} per million requests"),
    ) + _domain_lines(cfg)
    return Estimate(region, data["as_of"], lines)


# Route 53 pricing (aws.amazon.com/route53/pricing): a public hosted zone is $0.50 a month
# (first 25); alias queries to AWS resources (the API's regional name) are free. ACM pricing
# (aws.amazon.com/certificate-manager/pricing): public certificates cost nothing.
HOSTED_ZONE_MONTH = 0.50


def _domain_lines(cfg: Config) -> tuple[Line, ...]:
    """[api.domain]: nothing of ours is billed; the hosted zone is the user's."""
    if cfg.domain is None:
        return ()
    # Fits the 80 columns plan prints to.
    return (Line("custom domain", 0.0,
                 f"certificate free; zone ${HOSTED_ZONE_MONTH:.2f}/mo, not ours"),)


def way_out_lines(cfg: Config, table: dict[str, Any], hours: float) -> tuple[Line, ...]:
    """`network.nat`: one NAT gateway and address, one per zone, or the VPC endpoints
    (interface endpoints are billed per endpoint per zone per hour, plus per GB processed;
    the S3 gateway endpoint is free: AWS PrivateLink pricing, Amazon VPC pricing)."""
    if cfg.nat == "none":
        from gatewayproxy.resources import vpc_endpoint

        count = len(vpc_endpoint.INTERFACE_SERVICES) + len(vpc_endpoint.secret_services_of(cfg))
        zones = cfg.availability_zones
        rate = table["vpc_endpoint_hour"]
        return (Line("VPC endpoints", count * zones * rate * hours,
                     f"{count} interface x {zones} zones x ${rate}/h, plus "
                     f"${table['vpc_endpoint_gb']}/GB processed; S3 gateway endpoint free"),)
    nats = cfg.availability_zones if cfg.nat == "per_zone" else 1
    return (
        Line("NAT gateway", nats * table["nat_gateway_hour"] * hours,
             f"{nats} x ${table['nat_gateway_hour']}/h, plus data processed"),
        Line("Elastic IP (IPv4)", nats * table["public_ipv4_hour"] * hours,
             f"{nats} x ${table['public_ipv4_hour']}/h"),
    )


def describe(found: Estimate | None, region: str) -> list[str]:
    """The estimate as lines of text, for `plan` and `status`."""
    if found is None:
        return [f"estimated cost: no list prices on file for {region}"]
    rows = [f"estimated monthly cost in {region} (list prices of {found.as_of}):"]
    for line in found.lines:
        amount = f"${line.monthly:,.2f}" if line.monthly is not None else "per use"
        rows.append(f"  {line.component:<22} {amount:>10}  {line.basis}")
    total = f"${found.total:,.2f}"
    rows.append(f"  {'total before traffic':<22} {total:>10}")
    return rows


def fargate_lines(cfg: Config, table: dict[str, Any], hours: float) -> list[Line]:
    """The tasks at container.architecture's rates, on container.capacity: on_demand, spot,
    or mixed (the first task on-demand, the rest on Spot, as the service's strategy places
    them). Spot rates are typical recent prices: Fargate Spot's price moves."""
    vcpu, memory_gb, tasks = cfg.cpu / 1024, cfg.memory / 1024, cfg.desired_count
    size = f"({vcpu:g} vCPU, {memory_gb:g} GB)"
    prefix = "fargate_arm" if cfg.architecture == "arm64" else "fargate"
    regular = vcpu * table[f"{prefix}_vcpu_hour"] + memory_gb * table[f"{prefix}_gb_hour"]
    spot = vcpu * table["fargate_spot_vcpu_hour"] + memory_gb * table["fargate_spot_gb_hour"]
    on_demand = {"on_demand": tasks, "spot": 0, "mixed": min(tasks, 1)}[cfg.capacity]
    lines = []
    if on_demand or cfg.capacity == "on_demand":
        name = "Fargate tasks (ARM64)" if cfg.architecture == "arm64" else "Fargate tasks"
        lines.append(Line(name, regular * on_demand * hours,
                          f"{on_demand} x {size} = ${regular:.4f}/h each"))
    if tasks - on_demand or cfg.capacity == "spot":
        lines.append(Line("Fargate Spot tasks", spot * (tasks - on_demand) * hours,
                          f"{tasks - on_demand} x {size} = ${spot:.4f}/h each, a typical "
                          "recent Spot price (it varies)"))
    return lines
