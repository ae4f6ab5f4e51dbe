"""The plan's words: exact lines and JSON that scripts rely on, and no secret ever shown."""

from __future__ import annotations

import copy
import json
import pickle

import pytest

from gatewayproxy.planned import (
    UNKNOWN,
    FieldChange,
    ResourceChange,
    apply_lines,
    destroy_line,
    plan_json,
    plan_lines,
    summary,
)

SECRET = "s3cr3t-api-key-value"

NAT = ResourceChange("nat_gateway", "NAT gateway", "quizapi-nat", "create",
                     (FieldChange("id", None, UNKNOWN),))
TASK = ResourceChange("task_definition", "task definition", "quizapi", "replace", (
    FieldChange("image", "nginx:1.25", "nginx:1.27"),
    FieldChange("environment", {"B": "2", "A": "1"}, {"A": "1"}),
))
SERVICE = ResourceChange("service", "ECS service", "quizapi", "update", (
    FieldChange("desired_count", 1, 2),
    FieldChange("subnets", ["subnet-a", "subnet-b"], ("subnet-a",)),
    FieldChange("assign_public_ip", True, False),
    FieldChange("task_definition", "quizapi:3", UNKNOWN),
    FieldChange("health_check_path", None, "/health"),
))
KEY = ResourceChange("api_access", "API key", "quizapi-ci", "update",
                     (FieldChange("value", SECRET, SECRET + "-new", secret=True),))
ROLE = ResourceChange("task_definition", "execution role", "quizapi-exec", "delete",
                      (FieldChange("name", "quizapi-exec", None),))


def test_plan_lines_name_each_resource_its_fields_and_the_totals() -> None:
    assert plan_lines([NAT, TASK, SERVICE, KEY, ROLE]) == [
        "+ NAT gateway  quizapi-nat",
        "-/+ task definition  quizapi",
        "    image: nginx:1.25 -> nginx:1.27",
        '    environment: {"A":"1","B":"2"} -> {"A":"1"}',
        "~ ECS service  quizapi",
        "    desired_count: 1 -> 2",
        "    subnets: subnet-a, subnet-b -> subnet-a",
        "    assign_public_ip: true -> false",
        "    task_definition: quizapi:3 -> (known after apply)",
        "    health_check_path: (none) -> /health",
        "~ API key  quizapi-ci",
        "    value: (sensitive) -> (sensitive)",
        "- execution role  quizapi-exec",
        "Plan: 1 to add, 2 to change, 1 to replace, 1 to destroy.",
    ]


def test_an_empty_plan_is_exactly_no_changes() -> None:
    assert plan_lines([]) == ["No changes."]


def test_field_lines_stay_one_line_and_empty_lists_show() -> None:
    change = ResourceChange("s", "REST API", "api", "update", (
        FieldChange("policy", "a\nb", "a\r\nb"), FieldChange("tags", [], ["x"])))
    assert plan_lines([change])[1:3] == ["    policy: a\\nb -> a\\r\\nb", "    tags: [] -> x"]


def test_summary_counts_each_action() -> None:
    assert summary([NAT, NAT, TASK, SERVICE, KEY, ROLE]) == {
        "add": 2, "change": 2, "replace": 1, "destroy": 1}
    assert summary([]) == {"add": 0, "change": 0, "replace": 0, "destroy": 0}


def test_plan_json_is_the_documented_shape_and_json_safe() -> None:
    out = plan_json([NAT, SERVICE, KEY])
    assert json.loads(json.dumps(out)) == out  # JSON-safe: survives a round trip unchanged
    assert out["summary"] == {"add": 1, "change": 2, "replace": 0, "destroy": 0}
    assert out["resources"][0] == {
        "step": "nat_gateway", "kind": "NAT gateway", "name": "quizapi-nat", "action": "create",
        "changes": [{"field": "id", "old": None, "new": "(known after apply)"}]}
    assert out["resources"][1]["changes"][1:3] == [
        {"field": "subnets", "old": ["subnet-a", "subnet-b"], "new": ["subnet-a"]},
        {"field": "assign_public_ip", "old": True, "new": False}]
    assert out["resources"][1]["changes"][4] == {"field": "health_check_path", "old": None,
                                                 "new": "/health"}
    assert out["resources"][2]["changes"] == [
        {"field": "value", "old": "(sensitive)", "new": "(sensitive)"}]


def test_plan_json_makes_other_values_json_safe() -> None:
    change = ResourceChange("s", "k", "n", "update", (
        FieldChange("ports", {443, 80}, {1: UNKNOWN}),))
    assert plan_json([change])["resources"][0]["changes"] == [
        {"field": "ports", "old": [80, 443], "new": {"1": "(known after apply)"}}]


def test_a_secret_never_appears_in_any_output() -> None:
    replaced = ResourceChange("api_access", "API key", "k", "replace",
                              (FieldChange("value", SECRET, None, secret=True),))
    created = ResourceChange("api_access", "API key", "k2", "create",
                             (FieldChange("value", None, SECRET, secret=True),))
    everything = [KEY, replaced, created]
    outputs = [*plan_lines(everything), *apply_lines(everything),
               json.dumps(plan_json(everything))]
    assert not any(SECRET in text for text in outputs)
    assert "    value: (sensitive) -> (sensitive)" in plan_lines(everything)


def test_apply_lines_repeat_the_plan_lines_then_the_totals() -> None:
    done = [NAT, TASK, ROLE]
    assert apply_lines(done) == [*plan_lines(done)[:-1],
                                 "Apply complete: 1 added, 0 changed, 1 replaced, 1 destroyed."]
    assert apply_lines([]) == ["Apply complete: 0 added, 0 changed, 0 replaced, 0 destroyed."]


def test_destroy_line() -> None:
    assert destroy_line(27) == "Destroy complete: 27 destroyed."
    assert destroy_line(0) == "Destroy complete: 0 destroyed."


def test_unknown_stays_one_object_through_copy_and_pickle() -> None:
    assert copy.deepcopy(UNKNOWN) is UNKNOWN
    assert pickle.loads(pickle.dumps(UNKNOWN)) is UNKNOWN
    assert copy.deepcopy(NAT) == NAT


def test_a_change_refuses_an_unknown_action_and_freezes_its_fields() -> None:
    with pytest.raises(ValueError, match="unknown action 'modify'"):
        ResourceChange("s", "k", "n", "modify")  # type: ignore[arg-type]
    listed = ResourceChange("s", "k", "n", "update", [FieldChange("f", 1, 2)])  # type: ignore[arg-type]
    assert listed.changes == (FieldChange("f", 1, 2),)
    assert hash(listed) == hash(ResourceChange("s", "k", "n", "update", (FieldChange("f", 1, 2),)))
