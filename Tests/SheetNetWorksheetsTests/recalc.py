#!/usr/bin/python3
"""Recalculates an .xlsx workbook in LibreOffice and reads cells back, for the XLSX tests.

Usage: /usr/bin/python3 recalc.py REQUEST.json RESULT.json

Run it with the system Python: it needs the `uno` module of Debian's python3-uno, and LibreOffice
(libreoffice-calc-nogui). REQUEST.json:

  {"workbook": "/abs/path/step.xlsx",
   "profile": "/abs/tmp/dir",             # LibreOffice user profile (-env:UserInstallation)
   "timeout": 300,                        # optional: seconds before soffice is killed
   "pid_file": "/abs/tmp/dir/soffice.pid", # optional: soffice's process group id is written there
   "runs": [{"edits": [["Sheet", row0, col0, 0.25 or "text"], ...], "read": [["Sheet", row0, col0], ...],
             "strings": true,                   # optional: also each read cell's text as shown
             "html": "/abs/out.html",           # optional: the recalculated workbook exported as
                                                # HTML, conditional formats applied (as rendered)
             "pdf": "/abs/out.pdf"}]}           # optional: the workbook printed to PDF

For each run a copy of the workbook is loaded afresh (hidden), the edits are set as numbers,
every formula is recalculated (`calculateAll`: LibreOffice otherwise keeps an .xlsx's cached
values) and the listed cells are read as full doubles (a text or empty cell reads as 0).
RESULT.json:

  {"runs": [{"values": [v or null, ...], "errors": [[index, code], ...], "strings": [...]}],
   "seconds": [recalculation seconds per run], "load_seconds": total seconds loading,
   "load_seconds_per_run": [...], "read_seconds": [...],
   "start_seconds": seconds until soffice answered}

A cell whose formula ends in an error reads as null, with LibreOffice's error number (e.g. 503
for #NUM!, 502 invalid argument, 504 parameter list, 532 #DIV/0!); a non-finite value reads as
null with code -1. Any failure (no uno, soffice not answering, a workbook that does not load, an
unknown sheet, the timeout, SIGTERM) exits non-zero with one line on stderr. soffice is always
ended: asked to quit, then its process group killed.
"""

import hashlib
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid

SOFFICE = "/usr/bin/soffice"
soffice = None  # the soffice process, leader of its own process group (soffice.bin is its child)
soffice_reaped = False
pipe_files = []  # the sockets soffice makes in /tmp, which a killed soffice leaves behind


def fail(message, code=1):
    """Kills soffice, prints one line, exits non-zero (from any thread)."""
    kill_soffice()
    sys.stderr.write("recalc.py: " + " ".join(str(message).split()) + "\n")
    sys.stderr.flush()
    os._exit(code)


def kill_soffice():
    """Kills soffice's process group, unless it has already been ended and reaped."""
    if soffice is not None and not soffice_reaped:
        try:
            os.killpg(soffice.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    remove_pipe_files()


def remove_pipe_files():
    for path in pipe_files:
        try:
            os.remove(path)
        except OSError:
            pass


def osl_pipe_files(pipe, profile_url):
    """Where LibreOffice's runtime puts the socket of the pipe `pipe` and that of the profile's
    single-instance pipe (named from the MD5 of the profile URL in UTF-16, hex digits unpadded)."""
    digest = hashlib.md5(profile_url.encode("utf-16-le")).digest()
    names = [pipe, "SingleOfficeIPC_" + "".join("%x" % b for b in digest)]
    return ["%s/OSL_PIPE_%d_%s" % (folder, os.getuid(), name) for folder in ("/tmp", "/var/tmp") for name in names]


def stop_soffice(desktop):
    """Asks soffice to quit, then kills whatever of its process group is still there."""
    global soffice_reaped
    if soffice is None or soffice_reaped:
        return
    try:
        desktop.terminate()
    except Exception:
        pass  # the bridge goes down as soffice quits
    try:
        soffice.wait(timeout=15)
    except subprocess.TimeoutExpired:
        pass
    kill_soffice()
    soffice.wait()
    soffice_reaped = True
    remove_pipe_files()


FORMULA_RESULT_ERROR = 4  # com.sun.star.sheet.FormulaResult.ERROR
MAX_BLOCK = 2_000_000  # cells fetched in one getDataArray call at most


def read(sheet, refs):
    """The values of the cells `refs` ([sheet name, row, column]) and their errors.

    Cell by cell, UNO costs several round trips to soffice per cell; so each sheet's cells are
    fetched as one block (getDataArray), and only the cells that queryFormulaCells reports as
    errors are asked for their error number.
    """
    values, errors = [None] * len(refs), []
    by_sheet = {}
    for i, ref in enumerate(refs):
        by_sheet.setdefault(ref[0], []).append((i, int(ref[1]), int(ref[2])))
    for name, cells in by_sheet.items():
        s = sheet(name)
        top, bottom = min(c[1] for c in cells), max(c[1] for c in cells)
        left, right = min(c[2] for c in cells), max(c[2] for c in cells)
        if (bottom - top + 1) * (right - left + 1) > MAX_BLOCK:  # scattered far apart: one by one
            blocks = [(c[1], c[2], c[1], c[2], [c]) for c in cells]
        else:
            blocks = [(top, left, bottom, right, cells)]
        for top, left, bottom, right, members in blocks:
            block = s.getCellRangeByPosition(left, top, right, bottom)
            data = block.getDataArray()
            failed = set()
            for address in block.queryFormulaCells(FORMULA_RESULT_ERROR).getRangeAddresses():
                for row in range(address.StartRow, address.EndRow + 1):
                    for column in range(address.StartColumn, address.EndColumn + 1):
                        failed.add((row, column))
            for i, row, column in members:
                if (row, column) in failed:
                    errors.append([i, s.getCellByPosition(column, row).getError()])
                    continue
                value = data[row - top][column - left]
                if not isinstance(value, float):  # text or empty: what getValue says (0 for text)
                    value = s.getCellByPosition(column, row).getValue()
                if math.isfinite(value):
                    values[i] = value
                else:
                    errors.append([i, -1])
    errors.sort()
    return {"values": values, "errors": errors}


def main():
    if len(sys.argv) != 3:
        fail("usage: /usr/bin/python3 recalc.py REQUEST.json RESULT.json", 2)
    try:
        with open(sys.argv[1], encoding="utf-8") as f:
            request = json.load(f)
        workbook = os.path.abspath(request["workbook"])
        profile = os.path.abspath(request["profile"])
        runs = request["runs"]
        timeout = float(request.get("timeout", 300))
        pid_file = request.get("pid_file")
    except Exception as e:
        fail("cannot read the request %s: %s" % (sys.argv[1], e), 2)
    if not os.path.isfile(workbook):
        fail("no workbook at %s" % workbook, 2)

    try:
        import uno
        from com.sun.star.beans import PropertyValue
        from com.sun.star.connection import NoConnectException
    except Exception as e:
        fail("cannot import uno (%s): run with /usr/bin/python3 and install python3-uno" % e, 3)
    if not os.access(SOFFICE, os.X_OK):
        fail("no LibreOffice at %s (apt-get install libreoffice-calc-nogui)" % SOFFICE, 3)

    # The watchdog and SIGTERM both end soffice before leaving. (The handler is set once UNO has
    # started: LibreOffice's runtime installs its own signal handlers when it starts.)
    local = uno.getComponentContext()
    watchdog = threading.Timer(timeout, lambda: fail("timed out after %g s; soffice killed" % timeout, 4))
    watchdog.daemon = True
    watchdog.start()

    global soffice
    os.makedirs(profile, exist_ok=True)
    pipe = "sheetnet-recalc-%d-%s" % (os.getpid(), uuid.uuid4().hex[:8])
    profile_url = uno.systemPathToFileUrl(profile)
    pipe_files.extend(osl_pipe_files(pipe, profile_url))
    log = open(os.path.join(profile, "soffice.log"), "wb")
    started = time.monotonic()
    soffice = subprocess.Popen(
        [SOFFICE, "--headless", "--invisible", "--nologo", "--norestore", "--nodefault",
         "--nolockcheck", "-env:UserInstallation=" + profile_url,
         "--accept=pipe,name=%s;urp;StarOffice.ComponentContext" % pipe],
        stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    if pid_file:  # so the caller can kill the group should this script itself be killed
        with open(pid_file, "w") as f:
            f.write("%d\n" % soffice.pid)

    resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
    context = None
    while context is None:
        try:
            context = resolver.resolve("uno:pipe,name=%s;urp;StarOffice.ComponentContext" % pipe)
        except NoConnectException:
            if soffice.poll() is not None:
                fail("soffice exited (%s) before answering; see %s/soffice.log" % (soffice.returncode, profile), 3)
            if time.monotonic() - started > 60:
                fail("soffice did not answer within 60 s", 3)
            time.sleep(0.2)
    start_seconds = time.monotonic() - started
    signal.signal(signal.SIGTERM, lambda *_: fail("terminated; soffice killed", 5))
    desktop = context.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", context)

    def prop(name, value):
        p = PropertyValue()
        p.Name, p.Value = name, value
        return p

    # LibreOffice loads a copy in the profile folder: a lock file left beside the caller's workbook
    # (by a killed soffice) would make a hidden load fail, and ours is thrown away with the folder.
    copy_dir = os.path.join(profile, "workbook")
    os.makedirs(copy_dir, exist_ok=True)
    copy = os.path.join(copy_dir, os.path.basename(workbook))
    shutil.copyfile(workbook, copy)
    url = uno.systemPathToFileUrl(copy)
    results, seconds, load_seconds, read_seconds = [], [], [], []
    try:
        for number, run in enumerate(runs):
            t0 = time.monotonic()
            doc = desktop.loadComponentFromURL(url, "_blank", 0, (prop("Hidden", True),))
            load_seconds.append(time.monotonic() - t0)
            if doc is None:
                fail("LibreOffice could not load %s (a copy of %s); see %s/soffice.log" % (copy, workbook, profile), 6)
            try:
                sheets = doc.getSheets()

                def sheet(name):
                    if not sheets.hasByName(name):
                        fail("run %d: no sheet named %r in %s" % (number, name, workbook), 7)
                    return sheets.getByName(name)

                for edit in run.get("edits", []):
                    cell = sheet(edit[0]).getCellByPosition(int(edit[2]), int(edit[1]))
                    if isinstance(edit[3], str):
                        cell.setString(edit[3])
                    else:
                        cell.setValue(float(edit[3]))
                t0 = time.monotonic()
                doc.calculateAll()
                seconds.append(time.monotonic() - t0)
                t0 = time.monotonic()
                result = read(sheet, run.get("read", []))
                if run.get("strings"):
                    result["strings"] = [sheet(r[0]).getCellByPosition(int(r[2]), int(r[1])).getString()
                                         for r in run.get("read", [])]
                if run.get("html"):
                    doc.storeToURL(uno.systemPathToFileUrl(os.path.abspath(run["html"])),
                                   (prop("FilterName", "HTML (StarCalc)"),))
                if run.get("pdf"):
                    doc.storeToURL(uno.systemPathToFileUrl(os.path.abspath(run["pdf"])),
                                   (prop("FilterName", "calc_pdf_Export"),))
                results.append(result)
                read_seconds.append(time.monotonic() - t0)
            finally:
                try:
                    doc.close(True)
                except Exception:
                    doc.dispose()
    except Exception as e:
        fail("LibreOffice failed on %s: %s" % (workbook, e), 8)
    stop_soffice(desktop)
    watchdog.cancel()

    result = {"runs": results, "seconds": seconds, "load_seconds": sum(load_seconds),
              "load_seconds_per_run": load_seconds, "read_seconds": read_seconds, "start_seconds": start_seconds}
    temporary = sys.argv[2] + ".part"
    with open(temporary, "w", encoding="utf-8") as f:
        json.dump(result, f, allow_nan=False)
    os.replace(temporary, sys.argv[2])


if __name__ == "__main__":
    main()
