"""The top-level guard (no traceback reaches a user) and output whose reader went away."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from release.cli import app
from release.output.events import OutputFormat, Reporter

ROOT = Path(__file__).resolve().parents[2]


def _crash_validation(monkeypatch: pytest.MonkeyPatch, exc: BaseException) -> None:
    from release.engine import validate  # every verb's "validate, then load"

    def broken(*args, **kwargs):
        raise exc

    monkeypatch.setattr(validate, "validate_repo", broken)


def test_an_unexpected_exception_is_one_line_a_log_file_and_exit_1(monkeypatch, tmp_path):
    _crash_validation(monkeypatch, KeyError("serviceName"))
    result = CliRunner().invoke(app, ["plan", "--env", "staging", "--repo", str(ROOT)],
                                env={"XDG_STATE_HOME": str(tmp_path), "RELEASE_DEBUG": ""})
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "internal error: KeyError: 'serviceName' — please report this" in result.stderr
    [log] = (tmp_path / "release" / "internal-errors").iterdir()
    assert str(log) in result.stderr
    text = log.read_text()
    assert "Traceback" in text and "KeyError" in text and "broken" in text


def test_a_lost_connection_nobody_expected_is_exit_5(monkeypatch, tmp_path):
    _crash_validation(monkeypatch, ConnectionResetError(104, "Connection reset by peer"))
    result = CliRunner().invoke(app, ["plan", "--env", "staging", "--repo", str(ROOT)],
                                env={"XDG_STATE_HOME": str(tmp_path)})
    assert result.exit_code == 5
    assert "lost the connection" in result.stderr and "please report this" in result.stderr


def test_release_debug_prints_the_traceback_for_the_developer(monkeypatch, tmp_path):
    _crash_validation(monkeypatch, ValueError("boom"))
    result = CliRunner().invoke(app, ["plan", "--env", "staging", "--repo", str(ROOT)],
                                env={"XDG_STATE_HOME": str(tmp_path), "RELEASE_DEBUG": "1"})
    assert result.exit_code == 1
    assert "Traceback" in result.stderr and "ValueError: boom" in result.stderr


def test_a_reporter_whose_reader_closed_the_pipe_carries_on(capfd) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)
    with os.fdopen(write_end, "w") as stream:
        reporter = Reporter(OutputFormat.json, stream=stream)
        reporter.emit("one", "first")  # EPIPE: must not raise
        reporter.emit("two", "second")
        assert reporter.stream.closed_by_reader
        assert [e.kind for e in reporter.events] == ["one", "two"]
    assert "reader of the output went away" in capfd.readouterr().err


def test_a_closed_stdout_does_not_change_the_exit_code() -> None:
    process = subprocess.Popen([sys.executable, "-m", "release.cli", "validate", "--repo",
                                str(ROOT), "--format", "json"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env={**os.environ, "NO_COLOR": "1"})
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # the reader is gone before the first line, as with `| head -0`
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=60) == 0, stderr
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr


def test_the_internal_error_log_holds_no_secret_and_only_its_user_may_read_it(monkeypatch,
                                                                              tmp_path):
    webhook = "https://hooks.slack.com/services/T00000000/B00000000/" + "W3bh00kS3cret" * 2
    key = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY"
    _crash_validation(monkeypatch, RuntimeError(f"cannot use {key} for https://u:Pa55w0rd@ci"
                                                "/job/?token=T0k3nValue"))
    monkeypatch.setattr(sys, "argv", ["release", "deploy", "--env", "staging", "--notify",
                                      "https://chat.example/hooks/SeCr3tPath", "--base-url",
                                      "https://u:Pa55w0rd@elb.example/?token=T0k3nValue",
                                      f"--notify={webhook}"])
    state = tmp_path / "state"
    (state / "release" / "internal-errors").mkdir(parents=True, mode=0o755)
    os.chmod(state / "release" / "internal-errors", 0o755)  # as an older release made it
    result = CliRunner().invoke(app, ["plan", "--env", "staging", "--repo", str(ROOT)],
                                env={"XDG_STATE_HOME": str(state), "RELEASE_DEBUG": "",
                                     "AWS_SECRET_ACCESS_KEY": key})
    assert result.exit_code == 1
    folder = state / "release" / "internal-errors"
    [log] = folder.iterdir()
    text = log.read_text()
    assert "RuntimeError" in text and "--notify" in text and "elb.example" in text
    for secret in ("SeCr3tPath", "W3bh00kS3cret", "Pa55w0rd", "T0k3nValue", key):
        assert secret not in text, secret
        assert secret not in result.output, secret
    assert (log.stat().st_mode & 0o777, folder.stat().st_mode & 0o777) == (0o600, 0o700)


class _HungUpTerminal:
    """A terminal whose SSH session dropped: every write fails with EIO."""

    def __init__(self, errno_: int) -> None:
        self.errno = errno_

    def write(self, text: str) -> int:
        raise OSError(self.errno, os.strerror(self.errno))

    def flush(self) -> None:
        raise OSError(self.errno, os.strerror(self.errno))

    def fileno(self) -> int:
        raise OSError("no descriptor")


def test_a_hung_up_terminal_is_a_reader_gone_and_another_write_error_is_not() -> None:
    import errno

    reporter = Reporter(OutputFormat.json, stream=_HungUpTerminal(errno.EIO))  # type: ignore[arg-type]
    reporter.emit("one", "first")  # EIO: must not raise
    assert reporter.stream.closed_by_reader
    full = Reporter(OutputFormat.json, stream=_HungUpTerminal(errno.ENOSPC))  # type: ignore[arg-type]
    with pytest.raises(OSError):
        full.emit("one", "first")


def test_an_interruption_with_no_resume_printed_says_what_to_do_itself(monkeypatch) -> None:
    _crash_validation(monkeypatch, KeyboardInterrupt())
    result = CliRunner().invoke(app, ["plan", "--env", "staging", "--repo", str(ROOT),
                                      "--format", "json"])
    assert result.exit_code == 130
    assert "see the last lines above" not in result.output
    assert "`release status --env staging`" in result.output
