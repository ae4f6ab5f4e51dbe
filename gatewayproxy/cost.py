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
    vcpu = cfg.cpu / 1024
    memory_gb = cfg.memory / 1024
    tasks = cfg.desired_count
    fargate_hour = vcpu * table["fargate_vcpu_hour"] + memory_gb * table["fargate_gb_hour"]
    lines = (
        *way_out_lines(cfg, table, hours),
        Line("Network Load Balancer", table["nlb_hour"] * hours,
             f"1 x ${table['nlb_hour']}/h, plus LCUs"),
        Line("Fargate tasks", fargate_hour * tasks * hours,
             f"{tasks} x ({vcpu:g} vCPU, {memory_gb:g} GB) = ${fargate_hour:.4f}/h each"),
        Line("API Gateway (REST)", None,
             f"${table['rest_api_million_requests']:.2f} per million requests"),
    )
    return Estimate(region, data["as_of"], lines)


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
