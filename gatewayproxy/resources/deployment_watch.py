"""While `up` waits for an ECS service deployment: watch the deployment's own tasks, the
service's events and the targets' health, show them as they happen, and stop early.

The wait reads the service once per poll (DescribeServices, as before). On top of that, the
watch lists the service's STOPPED tasks (ListTasks + DescribeTasks of the new ones) only when
the deployment's `failedTasks` grew or every LIST_EVERY seconds, and reads target health on the
same schedule. `up` stops waiting once `container.max_failed_tasks` tasks of the new (PRIMARY)
deployment have stopped, or when the circuit breaker marks it FAILED, whichever comes first.

When an update of a service that last ran healthy fails, the service goes back to that task
definition (the revision recorded under the service step's LAST_HEALTHY key each time the
service was stable): ECS's circuit breaker does it itself with rollback on; when `up` stops
first it sends UpdateService(taskDefinition=<last healthy>). A first deploy has nothing to roll
back to (ECS: "If there are no completed deployments, the circuit breaker ... doesn't roll
back"): `up` fails and the stack stays resumable.

AWS sources: ListTasks ("When you specify startedBy as the filter, it must be the only filter
that you use", so we filter by serviceName + desiredStatus and match each task's startedBy, which
ECS sets to the deployment id `ecs-svc/...`, ourselves); DescribeTasks (stoppedReason, stopCode,
containers[].reason / exitCode; stopped tasks stay listed for at least an hour); Deployment
(failedTasks, rolloutState, rolloutStateReason); ServiceDeploymentCircuitBreaker (threshold:
0.5 x desired count, at least 3, at most 200); awslogs driver (stream
`<awslogs-stream-prefix>/<container name>/<task id>`); TargetHealth (Reason, Description).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gatewayproxy import failures
from gatewayproxy.context import Context
from gatewayproxy.errors import AwsError, GatewayProxyError

LAST_HEALTHY = "last_healthy_task_definition"  # state key under the service step
ROLLED_BACK_FROM = "rolled_back_from"           # the revision `up` rolled away from
LIST_EVERY = 30.0        # seconds between ListTasks when failedTasks does not move
DEFAULT_BUDGET = 3
LOG_LINES = 5


class DeploymentFailed(GatewayProxyError):
    """A deployment that `up` stopped waiting for: one line, then `hints` (one per line)."""

    def __init__(self, line: str, hints: list[str]) -> None:
        super().__init__(line)
        self.hints = hints


@dataclass(frozen=True)
class StoppedTask:
    """One stopped task of the deployment, in AWS's words."""

    task_id: str
    reason: str
    stop_code: str | None
    container: str | None
    exit_code: int | None
    container_reason: str | None

    @property
    def why(self) -> str:
        """The most telling reason: a container's (CannotPullContainerError: ...) when the
        task's own says less, else the task's."""
        if self.container_reason and self.container_reason not in self.reason:
            return f"{self.reason}: {self.container_reason}" if self.reason else \
                self.container_reason
        return self.reason or self.container_reason or "stopped"


@dataclass
class Watch:
    """One service deployment's watch, kept across the polls of one ready wait."""

    ctx: Context
    step: str
    cluster: str
    service: str
    budget: int = DEFAULT_BUDGET
    deployment: str | None = None
    definition: str | None = None  # the task definition the watched deployment rolls out
    created: Any = None
    stopped: dict[str, StoppedTask] = field(default_factory=dict)
    events: set[str] = field(default_factory=set)
    targets: dict[str, str] = field(default_factory=dict)
    failed_tasks: int = 0
    last_list: float | None = None
    # Waits until the service is stable again after `up` rolled it back itself.
    settle: Any = None

    # -- one poll ---------------------------------------------------------------------------
    def observe(self, service: dict[str, Any]) -> None:
        """Show what is new, and raise DeploymentFailed once the deployment is done for."""
        deployment = self._deployment(service)
        if deployment is None:
            if self.deployment is not None:  # ECS replaced it: the circuit breaker rolled back
                self._report_events(service)
                raise self._failure(service, failures.CIRCUIT_BREAKER_REASON)
            return
        self._report_events(service)
        failed = int(deployment.get("failedTasks") or 0)
        now = self.ctx.aws.clock.now()
        due = self.last_list is None or now - self.last_list >= LIST_EVERY
        if failed > self.failed_tasks or (due and not _stable(service)):
            self.failed_tasks = max(failed, self.failed_tasks)
            self.last_list = now
            self._read_stopped()
            self._read_targets(service)
        if deployment.get("rolloutState") == "FAILED":
            raise self._failure(service, deployment.get("rolloutStateReason")
                                or failures.CIRCUIT_BREAKER_REASON)
        if len(self.stopped) >= self.budget:
            raise self._failure(service, None)

    def _deployment(self, service: dict[str, Any]) -> dict[str, Any] | None:
        """The deployment this watch follows: the PRIMARY one at its first poll."""
        deployments = service.get("deployments", [])
        if self.deployment is None:
            first = next((d for d in deployments if d.get("status") == "PRIMARY"), None)
            if first is None:
                return None
            self.deployment, self.created = first["id"], first.get("createdAt")
            self.definition = first.get("taskDefinition")
        return next((d for d in deployments if d.get("id") == self.deployment), None)

    def _report_events(self, service: dict[str, Any]) -> None:
        """Each event since the deployment began, once, oldest first (AWS lists newest first)."""
        for event in reversed(service.get("events", [])):
            key = event.get("id") or event["message"]
            if key in self.events:
                continue
            self.events.add(key)
            created = event.get("createdAt")
            if self.created is not None and created is not None and created < self.created:
                continue
            self.ctx.report(self.step, f"event: {event['message']}")

    def _read_stopped(self) -> None:
        arns = self.ctx.aws.call("ecs", "list_tasks", cluster=self.cluster,
                                 serviceName=self.service, desiredStatus="STOPPED")["taskArns"]
        new = [a for a in arns if a.rsplit("/", 1)[-1] not in self.stopped][:100]
        if not new:
            return
        tasks = self.ctx.aws.call("ecs", "describe_tasks", cluster=self.cluster,
                                  tasks=new)["tasks"]
        for task in tasks:
            if task.get("startedBy") != self.deployment:
                continue  # an earlier deployment's: history, not this one's budget
            stopped = stopped_task(task)
            self.stopped[stopped.task_id] = stopped
            self.ctx.report(self.step, f"task {stopped.task_id[:8]} stopped "
                                       f"({len(self.stopped)} of {self.budget} allowed): "
                                       f"{stopped.why}")

    def _read_targets(self, service: dict[str, Any]) -> None:
        for balancer in service.get("loadBalancers", []):
            try:
                found = self.ctx.aws.call("elbv2", "describe_target_health",
                                          TargetGroupArn=balancer["targetGroupArn"])
            except AwsError:
                continue  # the group may be going away; the tasks tell the story
            for entry in found.get("TargetHealthDescriptions", []):
                health = entry.get("TargetHealth", {})
                if health.get("State") != "unhealthy":
                    continue
                target = entry["Target"]["Id"]
                words = f"{health.get('Reason', '')}: {health.get('Description', '')}".strip(": ")
                if self.targets.get(target) != words:
                    self.targets[target] = words
                    self.ctx.report(self.step, f"target {target} unhealthy: {words}")

    # -- the verdict ------------------------------------------------------------------------
    def _failure(self, service: dict[str, Any], breaker: str | None) -> DeploymentFailed:
        if not self.stopped:
            self._read_stopped()
        last = self.stopped[sorted(self.stopped)[-1]] if self.stopped else None
        reason = last.why if last else (breaker or "the deployment failed")
        count = len(self.stopped)
        cause = (breaker.rstrip(".") if breaker  # "ECS deployment circuit breaker: ..."
                 else f"{count} tasks of the new deployment stopped")
        hints = [failures.hint(reason, last.stop_code if last else None,
                               last.exit_code if last else None)]
        if last is not None and (last.stop_code == failures.STOP_ESSENTIAL_EXITED
                                 or last.exit_code not in (None, 0)):
            hints += [f"last log line: {line}" for line in self._log_lines(last)]
        rolled = rollback(self.ctx, self.step, self.cluster, self.service, service,
                          self.definition, self.settle)
        if rolled is not None:
            hints.append(f"the service runs {rolled} again; fix the config and run "
                         "`gatewayproxy up` to deploy it once more (the state is kept)")
            return DeploymentFailed(f"ECS service {self.service}: rolled back to {rolled} "
                                    f"because {reason} ({cause})", hints)
        hints.append("fix the config (or the image) and run `gatewayproxy up` again: "
                     "everything made so far is in the state")
        return DeploymentFailed(f"ECS service {self.service}: {cause}: {reason}", hints)

    def _log_lines(self, task: StoppedTask) -> list[str]:
        """The last lines of the task's awslogs stream, oldest first; none if unreadable."""
        options = _log_options(self.ctx)
        if options is None or task.container is None:
            return []
        group, prefix = options
        try:
            found = self.ctx.aws.call("logs", "get_log_events", logGroupName=group,
                                      logStreamName=f"{prefix}/{task.container}/{task.task_id}",
                                      limit=LOG_LINES, startFromHead=False)
        except AwsError:
            return []
        return [e["message"].rstrip() for e in found.get("events", [])]


def stopped_task(task: dict[str, Any]) -> StoppedTask:
    """A DescribeTasks task, reduced to why it stopped (the first container that says)."""
    containers = task.get("containers", [])
    chosen = next((c for c in containers if c.get("reason")), None) or \
        next((c for c in containers if c.get("exitCode") not in (None, 0)), None) or \
        (containers[0] if containers else {})
    return StoppedTask(task_id=task["taskArn"].rsplit("/", 1)[-1],
                       reason=task.get("stoppedReason", ""), stop_code=task.get("stopCode"),
                       container=chosen.get("name"), exit_code=chosen.get("exitCode"),
                       container_reason=chosen.get("reason"))


def _log_options(ctx: Context) -> tuple[str, str] | None:
    from gatewayproxy.resources import task_definition

    container = task_definition.container_definition(ctx)
    options = container.get("logConfiguration", {}).get("options", {})
    if "awslogs-group" not in options or "awslogs-stream-prefix" not in options:
        return None
    return options["awslogs-group"], options["awslogs-stream-prefix"]


def _stable(service: dict[str, Any]) -> bool:
    deployments = service.get("deployments", [])
    return len(deployments) == 1 and service.get("runningCount") == service.get("desiredCount")


def revision_name(arn: str) -> str:
    """`family:revision` of a task definition ARN."""
    return arn.rsplit("/", 1)[-1]


# -- rollback ---------------------------------------------------------------------------------

def remember_healthy(ctx: Context, step: str, service: dict[str, Any]) -> None:
    """The service is stable: its task definition is the one to go back to."""
    ctx.state.record(step, LAST_HEALTHY, service["taskDefinition"])
    ctx.state.forget(step, ROLLED_BACK_FROM)


def rollback(ctx: Context, step: str, cluster: str, name: str, service: dict[str, Any],
             failing: str | None, settle: Any = None) -> str | None:
    """Put the service back on the last healthy revision; its `family:rev`, or None when
    there is none to go back to (a first deploy) or it is the failing one."""
    healthy = ctx.state.get(step, LAST_HEALTHY)
    failing = failing or _failing_definition(service)
    if not healthy or healthy == failing:
        return None
    ctx.state.record(step, ROLLED_BACK_FROM, failing)
    current = service.get("taskDefinition")
    if current != healthy:
        ctx.report(step, f"rolling back to {revision_name(healthy)}")
        # A new task definition starts a new deployment by itself: no forceNewDeployment.
        ctx.aws.call("ecs", "update_service", cluster=cluster, service=name,
                     taskDefinition=healthy, deploymentConfiguration=DEPLOYMENT_CONFIGURATION)
        if settle is not None:
            settle()
    return revision_name(healthy)


def _failing_definition(service: dict[str, Any]) -> Any:
    primary: dict[str, Any] = next((d for d in service.get("deployments", [])
                                    if d.get("status") == "PRIMARY"),
                   {})
    failed = [d for d in service.get("deployments", []) if d.get("rolloutState") == "FAILED"]
    return (failed[0] if failed else primary).get("taskDefinition", service.get("taskDefinition"))


# The circuit breaker with rollback on: on a failed update ECS goes back to the last completed
# deployment itself; a first deploy has none, and its deployment just ends FAILED.
# (DeploymentCircuitBreaker: "If rollback is on, when a service deployment fails, the service is
# rolled back to the last deployment that completed successfully.")
DEPLOYMENT_CONFIGURATION = {"deploymentCircuitBreaker": {"enable": True, "rollback": True}}


def budget(ctx: Context) -> int:
    return ctx.config.max_failed_tasks


def rolled_back_note(ctx: Context, step: str, service: dict[str, Any]) -> str:
    """For `status`: the revision the service runs after a rollback, and that `up` will try
    the config's again."""
    failed = ctx.state.get(step, ROLLED_BACK_FROM)
    if not failed or service.get("taskDefinition") == failed:
        return ""
    return (f", on {revision_name(service['taskDefinition'])} (rolled back from "
            f"{revision_name(failed)}; the next `up` deploys the config again)")
