"""The sandbox behaves like AWS where moto does not, and starts again right after it stops."""

from __future__ import annotations

import os
import signal
import socket
from pathlib import Path

import boto3
import pytest
from conftest import CONFIG, REGION, Call, write_config, writes
from inventory import counts
from test_changes import run

from gatewayproxy import sandbox

FILES = '\n[[api.routes]]\npath = "/files"\nmethods = ["GET"]\n' \
        '\n[[api.routes]]\npath = "/files/{proxy+}"\nmethods = ["GET"]\n'


def _paths(api_id: str) -> list[str]:
    apigw = boto3.client("apigateway", region_name=REGION)
    return sorted(r["path"] for r in apigw.get_resources(restApiId=api_id)["items"])


def test_removing_routes_with_children_removes_the_subtree(moto_account: None, config_file: Path,
                                                           calls: list[Call]) -> None:
    config_file.write_text(CONFIG + FILES)
    assert run("up", config=config_file).exit_code == 0
    api_id = boto3.client("apigateway", region_name=REGION).get_rest_apis()["items"][0]["id"]
    assert "/files/{proxy+}" in _paths(api_id)

    write_config(config_file)  # back to the routes without /files
    result = run("up", config=config_file)
    assert result.exit_code == 0, result.output
    assert _paths(api_id) == ["/", "/answers", "/teams", "/teams/{team}"]
    calls.clear()
    assert run("up", config=config_file).exit_code == 0
    assert writes(calls) == []
    assert run("down", "--yes", config=config_file).exit_code == 0
    assert dict(counts(REGION)) == {}


def test_deleting_an_unknown_resource_is_not_found(moto_account: None) -> None:
    apigw = boto3.client("apigateway", region_name=REGION)
    api_id = apigw.create_rest_api(name="x")["id"]
    with pytest.raises(apigw.exceptions.NotFoundException):
        apigw.delete_resource(restApiId=api_id, resourceId="nosuch")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.e2e  # starts the emulator's server
def test_start_right_after_stop_on_the_same_port() -> None:
    port = _free_port()
    pids: list[int] = []
    try:
        first = sandbox.start(port)
        pids.append(first.pid)
        # A connection open while the server stops: the server closes first, so its side of the
        # connection stays in TIME_WAIT on the port (a minute on Linux).
        client = socket.create_connection(("127.0.0.1", port), timeout=5)
        client.sendall(b"GET /moto-api/config HTTP/1.1\r\nHost: sandbox\r\n\r\n")
        assert client.recv(12).startswith(b"HTTP/1.1 2")
        assert sandbox.stop()
        assert not _alive(first.pid)  # stop returns once the process is gone
        while client.recv(4096):  # read to the server's FIN, then close our side
            pass
        client.close()
        if Path("/proc/net/tcp").exists():  # Linux: the case this test is about exists
            assert port in _time_wait_ports()
        second = sandbox.start(port)
        pids.append(second.pid)
        assert second.pid != first.pid and sandbox.current() == second
    finally:
        sandbox.stop()
        for pid in pids:
            _reap(pid)


def _time_wait_ports() -> set[int]:
    """Local ports of IPv4 TCP sockets in TIME_WAIT (state 06 in /proc/net/tcp)."""
    rows = Path("/proc/net/tcp").read_text().splitlines()[1:]
    return {int(r.split()[1].split(":")[1], 16) for r in rows if r.split()[3] == "06"}


def _alive(pid: int) -> bool:
    """True while the process exists and is not a zombie waiting for its parent."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _reap(pid: int) -> None:
    """However the test ended, the emulator it started is killed and reaped."""
    try:
        if os.waitpid(pid, os.WNOHANG)[0]:
            return
    except ChildProcessError:
        return  # already reaped (by sandbox.stop): the pid may be another process's by now
    os.killpg(pid, signal.SIGKILL)  # still our running child
    os.waitpid(pid, 0)
