"""The e2e tests' traceback check lets through Pulumi's shutdown race and nothing else.

The texts below copy the shape CI printed when the engine cancelled a registration during a
failed `up` (paths as on the CI machine). Every variant that puts a frame of ours into the
block, or is not the CANCELLED race, must still be reported.
"""

from __future__ import annotations

from pathlib import Path

from tests.helpers.tracebacks import split_pulumi_cancellations, tracebacks_not_pulumis

SITE = "/check/work/main/venv/lib/python3.11/site-packages"
STDLIB = "/root/.pyenv/versions/3.11.7/lib/python3.11"
EXEC = "/root/.cache/skyflow-pulumi/pulumi-v3.274.1-a42b05386d9c/bin/pulumi-language-python-exec"


def cancellation(extra_frame: str = "", status: str = "CANCELLED") -> str:
    return f"""\
  pulumi:pulumi:Stack (fivexx-fivexx):
    error: Program failed with an unhandled exception:
    Traceback (most recent call last):
      File "{SITE}/pulumi/runtime/resource.py", line 1340, in do_rpc_call
        return monitor.RegisterResource(req)
      File "{SITE}/grpc/_channel.py", line 999, in _end_unary_response_blocking
        raise _InactiveRpcError(state)
    grpc._channel._InactiveRpcError: <_InactiveRpcError of RPC that terminated with:
    \tstatus = StatusCode.{status}
    \tdetails = "context canceled"
    >

    During handling of the above exception, another exception occurred:

    Traceback (most recent call last):
      File "{EXEC}", line 232, in <module>
        loop.run_until_complete(coro)
      File "{STDLIB}/asyncio/base_events.py", line 653, in run_until_complete
        return future.result()
{extra_frame}      File "{SITE}/pulumi/runtime/settings.py", line 352, in handle_grpc_error
        raise grpc_error_to_exception(exn)
    Exception: context canceled

"""


OUR_ERROR = """\
  skyflow:index:ServiceAccount (fivexx-sa-0):
    error: Skyflow answered HTTP 503 (request id r-1); nothing was changed, run again later.

"""

PROVIDER_TRACEBACK = f"""\
  pulumi-python:dynamic:Resource (fivexx-sa-1):
    error: Traceback (most recent call last):
      File "{SITE}/pulumi/dynamic/__main__.py", line 84, in wrapper
        return fn(self, request, context)
      File "/check/work/main/skyflow_provider/resources/service_account.py", line 10, in create
        raise KeyError("clientID")
    KeyError: 'clientID'

"""


def test_pulumis_cancellation_after_a_real_error_is_cut_and_counted() -> None:
    text = "Updating (fivexx):\n" + OUR_ERROR + cancellation() + "Resources:\n    2 errored\n"
    rest, count = split_pulumi_cancellations(text)
    assert count == 1
    assert "Traceback" not in rest and "context canceled" not in rest
    assert "HTTP 503 (request id r-1)" in rest and rest.endswith("2 errored\n")
    assert tracebacks_not_pulumis(text) == ([], 1)


def test_two_cancellations_are_both_cut() -> None:
    excerpts, count = tracebacks_not_pulumis(OUR_ERROR + cancellation() + cancellation())
    assert (excerpts, count) == ([], 2)


def test_a_frame_of_the_program_or_provider_keeps_the_block() -> None:
    for path in ("/tmp/fivexx/__main__.py", "/check/work/main/skyflow_provider/api/client.py",
                 f"{SITE}/requests/sessions.py"):
        frame = f'      File "{path}", line 7, in run\n        call()\n'
        excerpts, count = tracebacks_not_pulumis(OUR_ERROR + cancellation(extra_frame=frame))
        assert count == 0 and len(excerpts) == 2, path
        assert path in "".join(excerpts)


def test_another_grpc_status_is_not_the_race() -> None:
    excerpts, count = tracebacks_not_pulumis(cancellation(status="INTERNAL"))
    assert count == 0 and len(excerpts) == 2


def test_a_provider_traceback_is_reported_beside_a_cut_cancellation() -> None:
    excerpts, count = tracebacks_not_pulumis(PROVIDER_TRACEBACK + cancellation())
    assert count == 1 and len(excerpts) == 1
    assert "KeyError: 'clientID'" in excerpts[0]


def test_a_program_failure_before_a_cancellation_is_not_swallowed_with_it() -> None:
    # The program's own unhandled exception (header, frames of __main__.py, a different last
    # line) followed by the race: only the race's block may go.
    ours = f"""\
    error: Program failed with an unhandled exception:
    Traceback (most recent call last):
      File "{EXEC}", line 232, in <module>
        loop.run_until_complete(coro)
      File "/tmp/fivexx/__main__.py", line 12, in <module>
        raise ValueError("bad config")
    ValueError: bad config

"""
    excerpts, count = tracebacks_not_pulumis(ours + cancellation())
    assert count == 1 and len(excerpts) == 1
    assert "ValueError: bad config" in excerpts[0]


def test_text_without_tracebacks_is_untouched() -> None:
    assert split_pulumi_cancellations(OUR_ERROR) == (OUR_ERROR, 0)


# A real `pulumi up` (CLI 3.274.1, SDK 3.272) whose program made one registration raise a gRPC
# error with status CANCELLED: the language host's real layout, with one frame of the program.
CAPTURED = Path(__file__).parent / "fixtures" / "tracebacks" / "program_raises_cancelled.txt"
PROGRAM_FRAME = ('      File "/tmp/cancelrepro/__main__.py", line 25, in reg\n'
                 '        raise Cancelled()\n')
GRPC_FRAME = (f'      File "{SITE}/grpc/_channel.py", line 999, in _end_unary_response\n'
              '        raise _InactiveRpcError(state)\n')


def test_the_real_layout_with_a_program_frame_is_reported() -> None:
    text = CAPTURED.read_text()
    assert PROGRAM_FRAME in text and "StatusCode.CANCELLED" in text
    excerpts, count = tracebacks_not_pulumis(text)
    assert count == 0 and len(excerpts) == 2
    assert "/tmp/cancelrepro/__main__.py" in excerpts[0]


def test_the_real_layout_with_only_pulumi_and_grpc_frames_is_cut() -> None:
    # The engine's race raises inside gRPC, not in the program: the same text with gRPC's frame
    # where the program's was is what the check lets through.
    text = CAPTURED.read_text().replace(PROGRAM_FRAME, GRPC_FRAME)
    rest, count = split_pulumi_cancellations(text)
    assert count == 1 and "Traceback" not in rest
    assert "creating failed" in rest and "1 errored" in rest
