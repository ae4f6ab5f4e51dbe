"""Crash injection for issue 11's writes (the execution role's inline policy, the cluster's
capacity providers, a task definition with secrets, a service on a capacity provider strategy):
die right after each, run again, and the stack converges (a further `up` writes nothing);
`down` cut short there still leaves nothing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import CONFIG, REGION, stack_session
from crashes import At, Writes, unaccounted
from inventory import counts, inventory
from test_container_options import make_secrets, options, role_policies
from test_lifecycle import EXPECTED
from worlds import World, capture, restore

from gatewayproxy.aws import Aws
from gatewayproxy.engine import Engine

pytestmark = pytest.mark.crash

NEW_WRITES = ("iam.put_role_policy", "iam.delete_role_policy",
              "ecs.put_cluster_capacity_providers", "ecs.create_cluster",
              "ecs.register_task_definition", "ecs.create_service", "ecs.update_service")
DOWN_WRITES = ("iam.delete_role_policy", "iam.delete_role", "ecs.delete_service",
               "ecs.delete_cluster")


@pytest.fixture
def crasher(moto_account: None, monkeypatch: pytest.MonkeyPatch) -> Writes:
    return Writes(monkeypatch)


def engine(state_path: Path, aws: Aws, text: str) -> Engine:
    return stack_session(state_path, aws, text).engine(sequential=True)


def among(writes: tuple[str, ...]) -> Callable[[str], bool]:
    return lambda name: name.split(":", 1)[1] in writes


def operations(points: list[tuple[At, World]]) -> set[str]:
    return {str(at[0]).split(":", 1)[1] for at, _ in points if isinstance(at, tuple)}


def converged(crasher: Writes, state_path: Path, aws: Aws, text: str, policies: list[str],
              why: str) -> None:
    engine(state_path, aws, text).up()
    # Each change of the options is a revision (earlier ones stay ACTIVE, as with an image).
    assert {k: n for k, n in counts(REGION).items() if k != "task_definitions"} == \
        {k: n for k, n in EXPECTED.items() if k != "task_definitions"}, why
    assert role_policies() == policies, why
    assert unaccounted(state_path, REGION) == {}, why
    crasher.arm(None)
    engine(state_path, aws, text).up()
    assert crasher.seen == [], f"{why}: a further up wrote {crasher.seen}"


@pytest.mark.parametrize("before", [None, CONFIG], ids=["new stack", "on-demand stack"])
def test_up_converges_after_a_crash_at_each_new_write(crasher: Writes, aws: Aws,
                                                      tmp_path: Path, before: str | None) -> None:
    """A new stack with every option, or an existing on-demand stack that takes them."""
    state_path = tmp_path / "stack.state.json"
    full = options(make_secrets(), capacity="mixed")
    aws.call("iam", "create_service_linked_role", AWSServiceName="ecs.amazonaws.com")
    if before:
        engine(state_path, aws, before).up()
    found = crasher.worlds_of(lambda: engine(state_path, aws, full).up(), tmp_path,
                              among(NEW_WRITES))
    assert operations(found) >= (
        {"iam.put_role_policy", "ecs.register_task_definition"}
        | ({"ecs.put_cluster_capacity_providers", "ecs.update_service"} if before
           else {"ecs.create_cluster", "ecs.create_service"}))
    for at, world in found:
        restore(world)
        converged(crasher, state_path, aws, full, ["gatewayproxy-secrets"],
                  f"after a crash at {at} (from {'on-demand' if before else 'nothing'})")


def test_removal_and_down_converge_after_a_crash_at_each_new_write(crasher: Writes, aws: Aws,
                                                                   tmp_path: Path) -> None:
    """Options removed (policy deleted, plain revision, FARGATE strategy), and `down`."""
    state_path = tmp_path / "stack.state.json"
    full = options(make_secrets(), capacity="spot")
    aws.call("iam", "create_service_linked_role", AWSServiceName="ecs.amazonaws.com")
    engine(state_path, aws, full).up()
    deployed = capture(tmp_path)
    removal = crasher.worlds_of(lambda: engine(state_path, aws, CONFIG).up(), tmp_path,
                                among(NEW_WRITES))
    assert operations(removal) == {
        "iam.delete_role_policy", "ecs.register_task_definition", "ecs.update_service"}
    for at, world in removal:
        restore(world)
        converged(crasher, state_path, aws, CONFIG, [], f"after a crash at {at} (removal)")
    restore(deployed)
    teardown = crasher.worlds_of(lambda: engine(state_path, aws, full).down(), tmp_path,
                                 among(DOWN_WRITES))
    # The policy goes before the role (IAM: DeleteConflict), the service before the cluster.
    assert [at[0] for at, _ in teardown if str(at[0]).startswith("task_definition:iam.")] == [
        "task_definition:iam.delete_role_policy", "task_definition:iam.delete_role"]
    for at, world in teardown:
        restore(world)
        engine(state_path, aws, full).down()
        left = {kind: items for kind, items in inventory(REGION).items() if items}
        assert not left and role_policies() == [], f"left after a crash of down at {at}: {left}"
