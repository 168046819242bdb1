"""The load benchmarks' own tools (benchmarks/appserver.py, benchmarks/stclient.py): a server's CPU counts its worker
processes, also once they exited; a page is finished only when its last run ended normally and shows its marker."""
import subprocess
import sys
import time
from pathlib import Path

import pytest
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import appserver  # noqa: E402
import stclient  # noqa: E402

if not Path("/proc/self/stat").exists():
    pytest.skip("the benchmarks read /proc (Linux)", allow_module_level=True)

BURN = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.5:\n    pass\n"


def test_cpu_counts_a_worker_process_while_it_runs_and_after_it_exited():
    parent = ("import subprocess, sys, time\n"
              f"subprocess.run([sys.executable, '-c', {BURN!r}])\n"
              "print('done', flush=True)\n"
              "time.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, "-c", parent], stdout=subprocess.PIPE, text=True)
    try:
        seen_live = 0.0
        while proc.poll() is None:
            kids = appserver.children(proc.pid)
            if not kids:
                break
            seen_live = max(seen_live, appserver.cpu(proc.pid).workers)
            time.sleep(0.05)
        assert proc.stdout.readline().strip() == "done"
        spent = appserver.cpu(proc.pid)
        assert spent.workers >= 0.45  # the child's 0.5 s, now reaped by the parent
        assert spent.workers >= seen_live  # the total never drops when a worker is reaped
        assert spent.own < spent.workers  # the parent itself mostly waited
    finally:
        proc.kill()
        proc.wait()


def _msg(**fields):
    m = ForwardMsg()
    if "new_session" in fields:
        m.new_session.SetInParent()
    if "element" in fields:
        kind, text = fields["element"]
        m.metadata.delta_path.extend(fields.get("path", [0, 0]))
        element = m.delta.new_element
        if kind == "markdown":
            element.markdown.body = text
        elif kind == "exception":
            element.exception.message = text
        elif kind == "progress":
            element.progress.value = 50
        elif kind == "empty":
            element.empty.SetInParent()
    if "finished" in fields:
        m.script_finished = fields["finished"]
    return m.SerializeToString()


def _feed(messages, marker="What this run shows"):
    view = stclient.PageView(marker)
    outcomes = [view.feed(m) for m in messages]
    return [o for o in outcomes if o is not None]


OK = ForwardMsg.FINISHED_SUCCESSFULLY


def test_a_run_that_shows_the_marker_is_finished():
    assert _feed([_msg(new_session=1), _msg(element=("markdown", "**What this run shows**")),
                  _msg(finished=OK)]) == ["finished"]


def test_an_exception_element_is_an_error_even_with_the_marker():
    outcome = _feed([_msg(new_session=1), _msg(element=("markdown", "What this run shows"), path=[0, 1]),
                     _msg(element=("exception", "ZeroDivisionError"), path=[0, 2]), _msg(finished=OK)])
    assert outcome == ["exception: ZeroDivisionError"]


def test_a_progress_bar_left_on_the_page_is_an_error_and_an_emptied_one_is_not():
    bar = _msg(element=("progress", ""), path=[0, 1])
    marker = _msg(element=("markdown", "What this run shows"), path=[0, 2])
    assert "progress" in _feed([_msg(new_session=1), bar, marker, _msg(finished=OK)])[0]
    emptied = _msg(element=("empty", ""), path=[0, 1])
    assert _feed([_msg(new_session=1), bar, emptied, marker, _msg(finished=OK)]) == ["finished"]


def test_only_the_last_run_counts():
    """A run that ended early for a rerun (the app's first run on a fresh server) showed the marker; the next run
    did not: not finished."""
    outcome = _feed([_msg(new_session=1), _msg(element=("markdown", "What this run shows")),
                     _msg(finished=ForwardMsg.FINISHED_EARLY_FOR_RERUN), _msg(new_session=1),
                     _msg(element=("markdown", "something else")), _msg(finished=OK)])
    assert len(outcome) == 1 and "without" in outcome[0]


def test_a_deep_link_probes_its_path_first_as_the_frontend_does():
    page = stclient.Page("inputs", "lang=en", "x")
    requests = stclient._page_requests("http://h:1", page)
    assert requests[0] == ("http://h:1/inputs?lang=en", 200)
    assert ("http://h:1/inputs/_stcore/health", 404) in requests and ("http://h:1/_stcore/health", 200) in requests
    assert stclient._is_probe("http://h:1/inputs/_stcore/host-config", "http://h:1")
    assert not stclient._is_probe("http://h:1/_stcore/host-config", "http://h:1")
