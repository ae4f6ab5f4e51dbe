"""What the steps share, in one import: the Context (gatewayproxy.context) and the helpers of
gatewayproxy.resources.common."""

from __future__ import annotations

from gatewayproxy.aws import is_not_found
from gatewayproxy.context import (
    DRAIN_SECONDS,
    RESOURCE_TAG,
    STACK_TAG,
    STEP_TAG,
    Context,
    Outputs,
    tag_value,
)
from gatewayproxy.resources.common import (
    StepStatus,
    drift_or_error,
    ec2_tag_filters,
    ignore_missing,
)

__all__ = ["DRAIN_SECONDS", "RESOURCE_TAG", "STACK_TAG", "STEP_TAG", "Context", "Outputs",
           "StepStatus", "drift_or_error", "ec2_tag_filters", "ignore_missing", "is_not_found",
           "tag_value"]
