"""The project's exceptions. Each carries a message a user can act on, in one line."""

from __future__ import annotations


class GatewayProxyError(Exception):
    """Base for every error the CLI reports as one line and exit code 1."""


class ConfigError(GatewayProxyError):
    """The config file or a flag is wrong; nothing has been sent to AWS."""


class StateError(GatewayProxyError):
    """The state file is unreadable, foreign or locked; it is left untouched."""


class WrongTargetError(GatewayProxyError):
    """The credentials, region or endpoint are not the ones the stack lives in."""


class AwsError(GatewayProxyError):
    """AWS answered with an error; `code` is AWS's error code."""

    def __init__(self, operation: str, code: str, message: str) -> None:
        super().__init__(f"{operation}: {code}: {message}")
        self.operation = operation
        self.code = code
        self.aws_message = message
        # S3 names a bucket's region in the x-amz-bucket-region header (or the error's Region).
        self.bucket_region: str | None = None


class WaitTimeout(GatewayProxyError):
    """A resource did not reach the state we wait for in the time allowed."""


class WouldWrite(GatewayProxyError):
    """A write call was about to be sent while the run may only look (import, plan)."""

    def __init__(self, operation: str) -> None:
        super().__init__(f"would call {operation}")
        self.operation = operation


class Cancelled(GatewayProxyError):
    """Another step failed or the user pressed Ctrl-C: stop before the next AWS call."""


class StepFailed(GatewayProxyError):
    """A step stopped; the message names the step and how to resume."""

    def __init__(self, step: str, cause: Exception, resume: str) -> None:
        reason = str(cause).rstrip(".")
        hints = "".join(f"\n  hint: {h}" for h in getattr(cause, "hints", ()))
        super().__init__(f"step {step} failed: {reason}. Everything made so far is in the state; "
                         f"run `{resume}` to resume{hints}")
        self.step = step
        self.cause = cause


class NotOurs(GatewayProxyError):
    """A resource of our name that carries another stack's tag (or none): `up` refuses it,
    `down` leaves it alone and deletes the rest."""
