"""`gatewayproxy sandbox start|stop|status`: one local emulator per machine, on 127.0.0.1 only."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from gatewayproxy.errors import GatewayProxyError

DEFAULT_PORT = 4566
SANDBOX_REGION = "us-east-1"


def home() -> Path:
    base = os.environ.get("GATEWAYPROXY_SANDBOX_DIR") or os.path.join(
        os.environ.get("XDG_STATE_HOME") or os.path.expanduser("~/.local/state"), "gatewayproxy")
    return Path(base)


@dataclass
class Sandbox:
    pid: int
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _record() -> Path:
    return home() / "sandbox.json"


def current() -> Sandbox | None:
    """The running sandbox, if its process is alive and answers."""
    try:
        data = json.loads(_record().read_text())
        sandbox = Sandbox(int(data["pid"]), int(data["port"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    try:
        os.kill(sandbox.pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    return sandbox if _answers(sandbox.url) else None


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/moto-api/config", timeout=2) as response:
            return bool(200 <= response.status < 300)
    except (urllib.error.URLError, OSError):
        return False


def start(port: int = DEFAULT_PORT, timeout: float = 30.0) -> Sandbox:
    running = current()
    if running is not None:
        return running
    try:
        import moto.server  # noqa: F401
    except ImportError:
        raise GatewayProxyError(
            "the sandbox needs moto's server: pip install 'gatewayproxy[sandbox]'") from None
    if not _port_free(port):
        raise GatewayProxyError(f"port {port} on 127.0.0.1 is in use (another sandbox or program); "
                                "pick another with --port")
    directory = home()
    directory.mkdir(parents=True, exist_ok=True)
    log = open(directory / "sandbox.log", "ab")  # noqa: SIM115 - handed to the child
    process = subprocess.Popen(
        [sys.executable, "-m", "gatewayproxy.emulator", "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
    )
    log.close()
    sandbox = Sandbox(process.pid, port)
    deadline = time.monotonic() + timeout
    while not _answers(sandbox.url):
        if process.poll() is not None:
            raise GatewayProxyError(f"the sandbox exited at start (is port {port} taken?); see "
                                    f"{directory / 'sandbox.log'}")
        if time.monotonic() > deadline:
            process.kill()
            raise GatewayProxyError(f"the sandbox did not answer on {sandbox.url} within "
                                    f"{timeout:.0f}s; see {directory / 'sandbox.log'}")
        time.sleep(0.2)
    _record().write_text(json.dumps({"pid": sandbox.pid, "port": port}))
    return sandbox


def _port_free(port: int) -> bool:
    """Whether moto's server can listen on the port: bind and listen as it does, with
    SO_REUSEADDR (werkzeug's BaseWSGIServer sets allow_reuse_address), so that connections of an
    earlier sandbox still in TIME_WAIT do not count as "in use" and a listener does."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
            probe.listen()
        except OSError:
            return False
    return True


def stop(grace: float = 5.0) -> bool:
    """Stop the running sandbox; return only once its process is gone (SIGTERM, then SIGKILL
    after `grace` seconds), so that its port is free for the next `start`."""
    sandbox = current()
    with contextlib.suppress(FileNotFoundError):
        _record().unlink()
    if sandbox is None:
        return False
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 2.0)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(sandbox.pid, sig)
        if _wait_gone(sandbox.pid, wait):
            break
    return True


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not _gone(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _gone(pid: int) -> bool:
    """True once the process has exited (a zombie has already closed its sockets)."""
    try:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:  # our own child (tests): reap it
            return True
    except ChildProcessError:
        pass  # not our child: ask the kernel
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    try:  # Linux: a zombie whose parent does not reap it (e.g. PID 1 in a container)
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def use(sandbox: Sandbox) -> None:
    """Point this process at the sandbox, with its dummy credentials."""
    os.environ["AWS_ENDPOINT_URL"] = sandbox.url
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    if not (os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")):
        os.environ["AWS_DEFAULT_REGION"] = SANDBOX_REGION
