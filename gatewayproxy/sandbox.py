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
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def stop() -> bool:
    sandbox = current()
    with contextlib.suppress(FileNotFoundError):
        _record().unlink()
    if sandbox is None:
        return False
    with contextlib.suppress(ProcessLookupError):
        os.killpg(sandbox.pid, signal.SIGTERM)
    return True


def use(sandbox: Sandbox) -> None:
    """Point this process at the sandbox, with its dummy credentials."""
    os.environ["AWS_ENDPOINT_URL"] = sandbox.url
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    if not (os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")):
        os.environ["AWS_DEFAULT_REGION"] = SANDBOX_REGION
