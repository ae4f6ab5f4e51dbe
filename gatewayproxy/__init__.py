"""gatewayproxy: a container on ECS Fargate in private subnets, reached through API Gateway."""

__version__ = "0.1.0"
