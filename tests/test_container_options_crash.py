"""Crash injection for issue 11's writes (the execution role's inline policy, the cluster's
capacity providers, a task definition with secrets, a service on a capacity provider strategy):
die right after each, run again, and the stack converges (a further `up` writes nothing);
`down` cut short there still leaves nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import CONFIG, REGION, stack_session
from inventory import counts, inventory
from test_access_crash_safety import CrashAfter
from test_container_options import make_secrets, options, role_policies
from test_crash_safety import Crash
from test_lifecycle import EXPECTED

from gatewayproxy.aws import Aws
from gatewayproxy.engine import Engine

pytestmark = pytest.mark.crash

NEW_WRITES = ("iam.put_role_policy", "iam.delete_role_policy",
              "ecs.put_cluster_capacity_providers", "ecs.create_cluster",
              "ecs.register_task_definition", "ecs.create_service", "ecs.update_service")
DOWN_WRITES = ("iam.delete_role_policy", "iam.delete_role", "ecs.delete_service",
               "ecs.delete_cluster")


@pytest.fixture
def crasher(moto_account: None, monkeypatch: pytest.MonkeyPatch) -> CrashAfter:
    return CrashAfter(monkeypatch)


def engine(state_path: Path, aws: Aws, text: str) -> Engine:
    return stack_session(state_path, aws, text).engine(sequential=True)


def points(crasher: CrashAfter, writes: tuple[str, ...] = NEW_WRITES) -> list[tuple[str, int]]:
    """The armed writes seen, each as (step:service.operation, occurrence)."""
    return [(name, crasher.seen[:i + 1].count(name)) for i, name in enumerate(crasher.seen)
            if name.split(":", 1)[1] in writes]


def converged(crasher: CrashAfter, state_path: Path, aws: Aws, text: str, policies: list[str],
              why: str) -> None:
    crasher.arm(None)
    engine(state_path, aws, text).up()
    # Each change of the options is a revision (earlier ones stay ACTIVE, as with an image).
    assert {k: n for k, n in counts(REGION).items() if k != "task_definitions"} == \
        {k: n for k, n in EXPECTED.items() if k != "task_definitions"}, why
    assert role_policies() == policies, why
    crasher.arm(None)
    engine(state_path, aws, text).up()
    assert crasher.seen == [], f"{why}: a further up wrote {crasher.seen}"


@pytest.mark.parametrize("before", [None, CONFIG], ids=["new stack", "on-demand stack"])
def test_up_converges_after_a_crash_at_each_new_write(crasher: CrashAfter, aws: Aws,
                                                      tmp_path: Path, before: str | None) -> None:
    """A new stack with every option, or an existing on-demand stack that takes them."""
    state_path = tmp_path / "stack.state.json"
    full = options(make_secrets(), capacity="mixed")
    aws.call("iam", "create_service_linked_role", AWSServiceName="ecs.amazonaws.com")
    if before:
        engine(state_path, aws, before).up()
    crasher.arm(None)
    engine(state_path, aws, full).up()
    found = points(crasher)
    engine(state_path, aws, CONFIG).down()
    assert {name.split(":", 1)[1] for name, _ in found} >= (
        {"iam.put_role_policy", "ecs.register_task_definition"}
        | ({"ecs.put_cluster_capacity_providers", "ecs.update_service"} if before
           else {"ecs.create_cluster", "ecs.create_service"}))
    for at in found:
        if before:
            engine(state_path, aws, before).up()
        crasher.arm(at)
        with pytest.raises(Crash):
            engine(state_path, aws, full).up()
        converged(crasher, state_path, aws, full, ["gatewayproxy-secrets"],
                  f"after a crash at {at} (from {'on-demand' if before else 'nothing'})")
        engine(state_path, aws, full).down()
        assert not any(inventory(REGION).values())


def test_removal_and_down_converge_after_a_crash_at_each_new_write(crasher: CrashAfter, aws: Aws,
                                                                   tmp_path: Path) -> None:
    """Options removed (policy deleted, plain revision, FARGATE strategy), and `down`."""
    state_path = tmp_path / "stack.state.json"
    full = options(make_secrets(), capacity="spot")
    aws.call("iam", "create_service_linked_role", AWSServiceName="ecs.amazonaws.com")
    engine(state_path, aws, full).up()
    crasher.arm(None)
    engine(state_path, aws, CONFIG).up()
    removal = points(crasher)
    assert {n.split(":", 1)[1] for n, _ in removal} == {
        "iam.delete_role_policy", "ecs.register_task_definition", "ecs.update_service"}
    for at in removal:
        engine(state_path, aws, full).up()
        crasher.arm(at)
        with pytest.raises(Crash):
            engine(state_path, aws, CONFIG).up()
        converged(crasher, state_path, aws, CONFIG, [], f"after a crash at {at} (removal)")
    engine(state_path, aws, full).up()
    crasher.arm(None)
    engine(state_path, aws, full).down()
    # The policy goes before the role (IAM: DeleteConflict), the service before the cluster.
    teardown = points(crasher, DOWN_WRITES)
    assert [name for name, _ in teardown if name.startswith("task_definition:iam.")] == [
        "task_definition:iam.delete_role_policy", "task_definition:iam.delete_role"]
    for at in teardown:
        engine(state_path, aws, full).up()
        crasher.arm(at)
        with pytest.raises(Crash):
            engine(state_path, aws, full).down()
        crasher.arm(None)
        engine(state_path, aws, full).down()
        left = {kind: items for kind, items in inventory(REGION).items() if items}
        assert not left and role_policies() == [], f"left after a crash of down at {at}: {left}"
