"""Executes one notebook on the Deno kernel through nbclient (Jupyter's own executor).

Called by tools/run_notebooks.ts; not meant to be run by hand. Reads a JSON job on argv[1]:
  {"source", "output", "kernel", "timeout", "parameters", "cwd"}
Prints one JSON object per line on stdout: {"event": "start"|"cell"|"done", ...}.
The source notebook is never written; the executed copy goes to "output".
"""
import json
import queue
import re
import sys
import time
import traceback

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionComplete, CellTimeoutError, DeadKernelError
from nbclient.util import ensure_async

LATE_OUTPUT_GRACE_S = 0.25


class StopAtError(Exception):
    """Raised after the first cell that produced an error output."""


def emit(**event):
    print(json.dumps(event), flush=True)


def inject_parameters(nb, parameters):
    """Rewrites assignments in the cell tagged `parameters`; appends missing ones."""
    cell = next((c for c in nb.cells if c.cell_type == "code" and "parameters" in c.metadata.get("tags", [])), None)
    if cell is None:
        return None
    source = cell.source
    for name, value in parameters.items():
        literal = json.dumps(value)
        pattern = re.compile(r"^(\s*(?:export\s+)?(?:const|let|var)\s+" + re.escape(name) + r"\s*(?::[^=]+)?=\s*)[^;\n]*(;?)", re.M)
        if pattern.search(source):
            source = pattern.sub(lambda m: m.group(1) + literal + m.group(2), source, count=1)
        else:
            source += f"\nconst {name} = {literal}; // injected by tokenlab's runner"
    cell.source = source
    return nb.cells.index(cell)


def main():
    job = json.loads(sys.argv[1])
    nb = nbformat.read(job["source"], as_version=4)
    param_cell = inject_parameters(nb, job.get("parameters", {}))
    code_cells = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    emit(event="start", cells=len(code_cells), parameters_cell=param_cell)
    started = time.time()
    state = {"current": None}

    class ReportingClient(NotebookClient):
        """Reports each code cell after it ran (hooks in older nbclient fire too early)."""

        async def _async_poll_output_msg(self, parent_msg_id, cell, cell_index):
            # Deno's kernel can publish a cell's last outputs after its "idle" status; nbclient
            # stops listening at idle and would drop them, so keep draining for a moment.
            while True:
                msg = await ensure_async(self.kc.iopub_channel.get_msg(timeout=None))
                if msg["parent_header"].get("msg_id") == parent_msg_id:
                    try:
                        self.process_message(msg, cell, cell_index)
                    except CellExecutionComplete:
                        break
            while True:
                try:
                    msg = await ensure_async(self.kc.iopub_channel.get_msg(timeout=LATE_OUTPUT_GRACE_S))
                except queue.Empty:
                    return
                if msg["parent_header"].get("msg_id") == parent_msg_id:
                    try:
                        self.process_message(msg, cell, cell_index)
                    except CellExecutionComplete:
                        pass

        async def async_execute_cell(self, cell, cell_index, *args, **kwargs):
            state["current"] = cell_index
            t0 = time.time()
            result = await super().async_execute_cell(cell, cell_index, *args, **kwargs)
            if cell.cell_type == "code":
                error = next((o for o in cell.get("outputs", []) if o.get("output_type") == "error"), None)
                emit(
                    event="cell",
                    index=code_cells.index(cell_index) + 1,
                    seconds=round(time.time() - t0, 2),
                    error=None if error is None else {
                        "ename": error.get("ename"), "evalue": strip_ansi(str(error.get("evalue"))),
                        "traceback": [strip_ansi(t) for t in error.get("traceback", [])[:8]]},
                )
                if error is not None:
                    raise StopAtError()  # later cells would only cascade the failure
            return result

    client = ReportingClient(
        nb,
        kernel_name=job["kernel"],
        timeout=job["timeout"],
        allow_errors=True,  # we inspect outputs ourselves: Deno kernels may not raise
        resources={"metadata": {"path": job["cwd"]}},
    )
    status, failure = "passed", None
    try:
        client.execute()
    except StopAtError:
        status = "failed"
    except CellTimeoutError as e:
        status, failure = "timeout", {"ename": "CellTimeoutError", "evalue": first_line(str(e))}
    except DeadKernelError as e:
        status, failure = "failed", {"ename": "DeadKernelError", "evalue": first_line(str(e))}
    except Exception as e:  # noqa: BLE001 - anything else is reported, not raised
        status, failure = "failed", {"ename": type(e).__name__, "evalue": first_line(str(e)),
                                     "traceback": traceback.format_exc().splitlines()[-8:]}
    # The first error output wins, even if the executor did not raise.
    failed_cell = None
    for pos, i in enumerate(code_cells):
        outputs = nb.cells[i].get("outputs", [])
        err = next((o for o in outputs if o.get("output_type") == "error"), None)
        if err is not None:
            failed_cell = pos + 1
            if status == "passed":
                status = "failed"
            failure = failure or {"ename": err.get("ename"), "evalue": err.get("evalue")}
            break
    if status in ("timeout", "failed") and failed_cell is None and state["current"] in code_cells:
        failed_cell = code_cells.index(state["current"]) + 1  # the cell running when it stopped
    seconds = round(time.time() - started, 2)
    nb.metadata["tokenlab"] = {
        "status": status,
        "parameters": job.get("parameters", {}),
        "failed_cell": failed_cell,
        "error": failure,
        "seconds": seconds,
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    nbformat.write(nb, job["output"])
    emit(event="done", status=status, failed_cell=failed_cell, error=failure, seconds=seconds, cells=len(code_cells))


def first_line(s):
    return strip_ansi(s).strip().splitlines()[0] if s.strip() else s


def strip_ansi(s):
    return re.sub(r"\x1b\[[0-9;]*m", "", s)


if __name__ == "__main__":
    main()
