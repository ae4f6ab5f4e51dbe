"""`gatewayproxy init`: a commented starting config, filled from flags (or answers on a terminal)."""

from __future__ import annotations

import re

TEMPLATE = '''\
# gatewayproxy stack: a container on ECS Fargate in private subnets, an internal NLB, and an
# API Gateway REST API reaching it through a VPC link. Reference: README.md, "Configuration".

[stack]
name = "{name}"             # lowercase letters, digits, hyphens; at most 23 characters
# region = "eu-west-1"      # default: your AWS profile's or environment's region

[container]
image = "{image}"
port = {port}                    # the port the container listens on
cpu = 256                   # Fargate cpu units (256, 512, 1024, ...)
memory = 512                # MiB; must be a valid Fargate pair with cpu
desired_count = 1
# environment = {{ GREETING = "hello" }}   # plain text: do not put secrets here

[network]
vpc_cidr = "10.0.0.0/16"    # /16 to /24
availability_zones = 2      # one public and one private subnet in each

[api]
stage = "prod"

[[api.routes]]              # every path and method, passed through to the container
path = "/{{proxy+}}"
methods = ["ANY"]
'''


def suggested_name(folder: str) -> str:
    """A valid stack name made from the folder's name."""
    name = re.sub(r"[^a-z0-9]+", "-", folder.lower()).strip("-")
    name = re.sub(r"^[^a-z]+", "", name)[:23].rstrip("-")
    if name.startswith("internal-"):
        name = name[len("internal-"):]
    return name if len(name) >= 2 else "my-api"


def render(name: str, image: str, port: int) -> str:
    return TEMPLATE.format(name=name, image=image, port=port)
