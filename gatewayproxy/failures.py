"""The failures a deploy meets, in AWS's own words: the sandbox's playable failure images, the
reason texts ECS and ELB give for each, and the hint that maps a reason to a fix.

One module for every reader: the emulator plays these failures (gatewayproxy/emulator.py), `up`'s
deployment watch names them and hints (gatewayproxy/resources/deployment_watch.py), and `doctor`
reads the same texts. Import from here, never copy a text.

The sandbox's failure images (set `container.image` to one of them, see docs/failures.md):

- `gatewayproxy/fail:pull`      each task stops before it starts: CannotPullContainerError
                                (stopCode TaskFailedToStart), as for an image that does not exist.
- `gatewayproxy/fail:exit`      each task starts, its container exits with code 1 and writes a few
                                log lines: "Essential container in task exited"
                                (stopCode EssentialContainerExited).
- `gatewayproxy/fail:unhealthy` each task runs but its target fails the target group's health
                                checks (Target.FailedHealthChecks); ECS stops it: "Task failed ELB
                                health checks in (target-group <arn>)" (stopCode
                                ServiceSchedulerInitiated).

An image reference matches by its repository and tag at the end, so `docker.io/gatewayproxy/fail:pull`
plays the same failure. Texts with `{placeholders}` are `str.format` templates.

Sources (AWS documentation and what ECS reports):
- "Amazon ECS stopped task error codes" / "Viewing Amazon ECS stopped task errors": stopCode
  TaskFailedToStart, EssentialContainerExited, ServiceSchedulerInitiated; stoppedReason texts.
- "Troubleshooting CannotPullContainerError" (re:Post knowledge center, ecs-fargate-pull-container-error):
  the route out (NAT gateway / VPC endpoints), registry credentials, the image name.
- "Amazon ECS service unhealthy event messages": the Fargate form
  "(service S) (task T) (port P) is unhealthy in (target-group G) due to (reason R)".
- ELBv2 API reference, TargetHealth: Target.FailedHealthChecks, Target.Timeout,
  Target.ResponseCodeMismatch, Elb.InitialHealthChecking.
"""

from __future__ import annotations

from dataclasses import dataclass

FAIL_PULL = "gatewayproxy/fail:pull"
FAIL_EXIT = "gatewayproxy/fail:exit"
FAIL_UNHEALTHY = "gatewayproxy/fail:unhealthy"

# stopCode values (DescribeTasks, Task.stopCode).
STOP_FAILED_TO_START = "TaskFailedToStart"
STOP_ESSENTIAL_EXITED = "EssentialContainerExited"
STOP_SCHEDULER = "ServiceSchedulerInitiated"

# What Fargate platform 1.4 reports for an image reference it cannot resolve (task stoppedReason and
# the container's reason); `{ref}` is the image as the registry resolves it (docker.io/...).
PULL_REASON = ("CannotPullContainerError: pull image manifest has been retried 5 time(s): failed "
               "to resolve ref {ref}: {ref}: not found")
EXIT_REASON = "Essential container in task exited"
UNHEALTHY_REASON = "Task failed ELB health checks in (target-group {target_group})"
EXIT_CODE = 1
# The log lines an exiting sandbox container writes to its awslogs stream, oldest first.
EXIT_LOG_LINES = ("starting server on port {port}",
                  "error: required environment variable DATABASE_URL is not set",
                  "exiting with status 1")

# Target health (DescribeTargetHealth TargetHealth.Reason / Description).
TARGET_FAILED_HEALTH_CHECKS = "Target.FailedHealthChecks"
TARGET_FAILED_DESCRIPTION = "Health checks failed"

# The service's events (DescribeServices events[].message) and the circuit breaker's verdict
# (deployments[].rolloutStateReason).
EVENT_STARTED = "(service {service}) has started 1 tasks: (task {task})."
EVENT_UNHEALTHY = ("(service {service}) (task {task}) (port {port}) is unhealthy in (target-group "
                   "{target_group}) due to (reason Health checks failed).")
EVENT_DEPLOYMENT_FAILED = ("(service {service}) (deployment {deployment}) deployment failed: "
                           "tasks failed to start.")
EVENT_ROLLING_BACK = ("(service {service}) (deployment {deployment}) deployment failed: rolling "
                      "back to deployment {previous}.")
CIRCUIT_BREAKER_REASON = "ECS deployment circuit breaker: tasks failed to start."
CIRCUIT_BREAKER_ROLLBACK = ("ECS deployment circuit breaker: rolling back to deploymentId "
                            "{previous}.")


@dataclass(frozen=True)
class PlayedFailure:
    """How the sandbox fails a task of an image: the task's stop, its container's end, what its
    target's health says (None: never registered), and the log lines it leaves."""

    image: str
    stop_code: str
    stopped_reason: str
    container_reason: str | None = None
    exit_code: int | None = None
    target_reason: str | None = None
    target_description: str | None = None
    log_lines: tuple[str, ...] = ()


PLAYED = {
    FAIL_PULL: PlayedFailure(FAIL_PULL, STOP_FAILED_TO_START, PULL_REASON,
                             container_reason=PULL_REASON),
    FAIL_EXIT: PlayedFailure(FAIL_EXIT, STOP_ESSENTIAL_EXITED, EXIT_REASON, exit_code=EXIT_CODE,
                             log_lines=EXIT_LOG_LINES),
    FAIL_UNHEALTHY: PlayedFailure(FAIL_UNHEALTHY, STOP_SCHEDULER, UNHEALTHY_REASON,
                                  exit_code=137, target_reason=TARGET_FAILED_HEALTH_CHECKS,
                                  target_description=TARGET_FAILED_DESCRIPTION),
}


def played(image: str) -> PlayedFailure | None:
    """The failure the sandbox plays for this image reference, or None (it runs healthy)."""
    for name, failure in PLAYED.items():
        if image == name or image.endswith("/" + name):
            return failure
    return None


def resolved_ref(image: str) -> str:
    """The image reference as a registry client resolves it (Docker Hub's default host and
    library/ namespace), the way CannotPullContainerError quotes it."""
    name = image if ":" in image.rsplit("/", 1)[-1] or "@" in image else image + ":latest"
    first = name.split("/", 1)[0]
    if "/" not in name:
        return f"docker.io/library/{name}"
    if "." in first or ":" in first or first == "localhost":
        return name
    return f"docker.io/{name}"


# -- hints: the common reasons mapped to a fix ------------------------------------------------

HINT_PULL = ("the image could not be pulled: check that container.image names an image and tag "
             "that exist, that a private registry's credentials are set (ECR: the execution role "
             "may pull from it), and that the private subnets reach the registry (the NAT "
             "gateway's route, or VPC endpoints for ECR and S3)")
HINT_SECRETS = ("the task could not start: its execution role could not fetch what the task "
                "needs (registry credentials, secrets, the log group), or the private subnets "
                "have no route to those services (NAT gateway or VPC endpoints)")
HINT_EXIT = ("the container exited{code}: it must keep running and listen on container.port; "
             "see its last log lines below, or `gatewayproxy logs`")
HINT_HEALTH = ("the target group's health checks failed: check that the container listens on "
               "container.port (on 0.0.0.0, not 127.0.0.1), the health check's path and "
               "matcher, and that the service's security group admits container.port from the "
               "load balancer's subnets")
HINT_CIRCUIT = "the ECS deployment circuit breaker stopped the deployment"


def hint(reason: str, stop_code: str | None = None, exit_code: int | None = None) -> str:
    """The fix for a stopped task's (or a failed deployment's) reason, in one line."""
    text = reason or ""
    if "CannotPullContainerError" in text:
        return HINT_PULL
    if "ResourceInitializationError" in text:
        return HINT_SECRETS
    if "ELB health checks" in text or "Target." in text or "health check" in text.lower():
        return HINT_HEALTH
    if (stop_code == STOP_ESSENTIAL_EXITED or "Essential container in task exited" in text
            or exit_code not in (None, 0)):
        return HINT_EXIT.format(code=f" with code {exit_code}" if exit_code is not None else "")
    if "circuit breaker" in text:
        return HINT_CIRCUIT
    return "see the service's events above, or `gatewayproxy status`"
