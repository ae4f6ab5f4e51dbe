"""A no-op `up` reads each kind of resource once: one describe serves every resource of a kind
(the stack's subnets, route tables, security groups...), where AWS has a batch read."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from access_fixtures import run
from conftest import Call

# Operations a no-op up makes twice, and why no single read can serve both.
TWICE = {
    # The task log group (/ecs/...) and the API's access log group (API-Gateway-Execution-...):
    # DescribeLogGroups takes one name prefix, and CloudWatch Logs has no tag filter.
    ("logs", "describe_log_groups"): "two log groups under different prefixes",
    # ListTagsLogGroup names one group; there is no batch form.
    ("logs", "list_tags_log_group"): "one call per log group",
    # The port's target group is found by name (its tag checked: describe_tags), and after it
    # converged the stack's other groups are listed as an old port's leftovers: two reads at
    # two moments (resources/target_group.py, not this to merge).
    ("elbv2", "describe_target_groups"): "this port's group, then other ports' leftovers",
    ("elbv2", "describe_tags"): "this port's group, then other ports' leftovers",
}


def test_a_no_op_up_repeats_no_read_but_the_named_ones(moto_account: None, config_file: Path,
                                                       calls: list[Call]) -> None:
    assert run("up", config=config_file).exit_code == 0
    calls.clear()
    assert run("up", config=config_file).exit_code == 0
    made = Counter((c.service, c.operation) for c in calls)
    repeated = {op: n for op, n in made.items() if n > (2 if op in TWICE else 1)}
    assert repeated == {}
    assert made[("ec2", "describe_subnets")] == 1  # public and private: one family read
    assert made[("ec2", "describe_security_groups")] == 1  # the tasks' and the VPC link's
