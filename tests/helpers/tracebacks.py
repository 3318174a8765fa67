"""Find the Python tracebacks in a `pulumi` run's output that are not Pulumi's own shutdown race.

When a step fails, the engine stops its resource monitor. A program registration still waiting
inside the engine at that instant can come back as gRPC CANCELLED ("context canceled") instead
of UNAVAILABLE. The Pulumi Python SDK turns only UNAVAILABLE into a quiet ``RunError``
(``pulumi.runtime.settings.grpc_error_to_exception``), so the language host prints CANCELLED as
"Program failed with an unhandled exception" with a traceback made only of Pulumi, gRPC and
standard-library frames. That text is printed after the real failure, is Pulumi's, and says
nothing about the provider. Every other traceback is ours to prevent, so the e2e tests assert
there are none.
"""

from __future__ import annotations

import re

from tests.helpers.pulumi_cli import Result

#: as strict as the checks it replaced: the word alone, anywhere outside the race's block
TRACEBACK = "Traceback"
HEADER = "Program failed with an unhandled exception:"
CANCELLED_LAST_LINE = re.compile(r"^[ \t]*Exception: context canceled[ \t]*$", re.M)
FRAME = re.compile(r'^[ \t]*File "(?P<path>[^"]+)", line \d+', re.M)


def pulumi_frame(path: str) -> bool:
    """A frame of the Pulumi SDK, gRPC, the Python language host or the standard library."""
    if path.endswith("pulumi-language-python-exec"):
        return True
    if "/site-packages/" in path:
        package = path.split("/site-packages/", 1)[1].split("/", 1)[0]
        return package in {"pulumi", "grpc"}
    return "/lib/python3" in path


def split_pulumi_cancellations(output: str) -> tuple[str, int]:
    """``output`` with each block of Pulumi's cancellation traceback cut out, and their count.

    A block runs from the language host's header to its "Exception: context canceled" line. It
    is cut only if every frame in it is Pulumi's (see ``pulumi_frame``), it names the CANCELLED
    status, and it holds no second header: a traceback through the program or the provider
    stays in the text, so the caller's assertion still sees it.
    """
    kept: list[str] = []
    count, pos = 0, 0
    while (start := output.find(HEADER, pos)) >= 0:
        end = CANCELLED_LAST_LINE.search(output, start)
        block = output[start:end.end()] if end else ""
        frames = [m["path"] for m in FRAME.finditer(block)]
        if (end is None or HEADER in block[len(HEADER):] or "StatusCode.CANCELLED" not in block
                or not frames or not all(pulumi_frame(p) for p in frames)):
            kept.append(output[pos:start + len(HEADER)])
            pos = start + len(HEADER)
            continue
        kept.append(output[pos:start])
        count += 1
        pos = end.end()
    kept.append(output[pos:])
    return "".join(kept), count


def tracebacks_not_pulumis(output: str) -> tuple[list[str], int]:
    """The traceback excerpts left once Pulumi's cancellation blocks are cut, and how many were."""
    rest, cancelled = split_pulumi_cancellations(output)
    excerpts = [rest[max(0, i - 200):i + 1500] for i in
                (m.start() for m in re.finditer(re.escape(TRACEBACK), rest))]
    return excerpts, cancelled


def assert_no_traceback(result: Result) -> int:
    """No traceback in a run's output but Pulumi's shutdown race; returns how many of those.

    The race only follows a failed step, so it is allowed in failed runs only.
    """
    excerpts, cancelled = tracebacks_not_pulumis(result.output)
    assert not excerpts, "\n---\n".join(excerpts)
    assert not (cancelled and result.returncode == 0), result.output[-3000:]
    return cancelled
