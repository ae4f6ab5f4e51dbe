"""Every ARN, AWS hostname and service principal the project builds, from one place.

They all depend on the partition: `arn:aws:` and `.amazonaws.com` in the standard one,
`arn:aws-cn:` and `.amazonaws.com.cn` in China, `arn:aws-us-gov:` in GovCloud, and so on.
Only the standard partition is supported for now, and `Aws` refuses any region outside it
before its first call (`refuse_unsupported_partition`). Supporting another partition starts
here: deriving these values from the region (the Lambda ARN pattern, built at import from
PARTITION, then has to take the partition too).
"""

from __future__ import annotations

import re

from gatewayproxy.errors import ConfigError

PARTITION = "aws"
DNS_SUFFIX = "amazonaws.com"

# A Lambda function's ARN as the config may name it: NAME, then an optional version or alias.
LAMBDA_FUNCTION_ARN = re.compile(
    rf"^arn:{PARTITION}:lambda:[a-z]{{2}}(-[a-z]+)+-\d:\d{{12}}:function:"
    r"[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9$_-]{1,128})?$")


def refuse_unsupported_partition(region: str, partition: str) -> None:
    """One clear line for a region whose ARNs and hostnames we would build wrong."""
    if partition != PARTITION:
        raise ConfigError(
            f"region {region} is in the {partition} partition; gatewayproxy supports only the "
            f"standard {PARTITION} partition for now (not China, GovCloud, ISO or the "
            "European Sovereign Cloud)")


def arn(service: str, region: str, account: str, resource: str) -> str:
    return f"arn:{PARTITION}:{service}:{region}:{account}:{resource}"


def managed_policy(path: str) -> str:
    """An AWS managed IAM policy, e.g. `service-role/AmazonECSTaskExecutionRolePolicy`."""
    return f"arn:{PARTITION}:iam::aws:policy/{path}"


def service_principal(service: str) -> str:
    """The principal a service assumes roles or invokes functions as, e.g. `ecs-tasks`."""
    return f"{service}.{DNS_SUFFIX}"


def execute_api_host(api_id: str, region: str) -> str:
    """A REST API's default hostname."""
    return f"{api_id}.execute-api.{region}.{DNS_SUFFIX}"


def lambda_invocation_uri(function_arn: str) -> str:
    """What an AWS_PROXY integration calls: API Gateway's path to the function, in the
    function's region."""
    region = function_arn.split(":")[3]
    return arn("apigateway", region, "lambda",
               f"path/2015-03-31/functions/{function_arn}/invocations")
