#!/usr/bin/python3
"""Recalculates an .xlsx workbook in LibreOffice and reads cells back, for the XLSX tests.

Usage: /usr/bin/python3 recalc.py REQUEST.json RESULT.json

Run it with the system Python: it needs the `uno` module of Debian's python3-uno, and LibreOffice
(libreoffice-calc-nogui). REQUEST.json:

  {"workbook": "/abs/path/step.xlsx",
   "profile": "/abs/tmp/dir",             # LibreOffice user profile (-env:UserInstallation)
   "timeout": 300,                        # optional: seconds before soffice is killed
   "runs": [{"edits": [["Sheet", row0, col0, 0.25], ...], "read": [["Sheet", row0, col0], ...]}]}

For each run the workbook is loaded afresh (hidden), the edits are set as numbers, every formula
is recalculated (`calculateAll`: LibreOffice otherwise keeps an .xlsx's cached values) and the
listed cells are read as full doubles. RESULT.json:

  {"runs": [{"values": [v or null, ...], "errors": [[index, code], ...]}],
   "seconds": [recalculation seconds per run], "load_seconds": total seconds loading,
   "load_seconds_per_run": [...], "start_seconds": seconds until soffice answered}

A cell whose formula ends in an error reads as null, with LibreOffice's error number (e.g. 503
for #NUM!, 502 invalid argument, 504 parameter list, 532 #DIV/0!); a non-finite value reads as
null with code -1. Any failure (no uno, soffice not answering, a workbook that does not load, an
unknown sheet) exits non-zero with one line on stderr. soffice is always ended.
"""

import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
import uuid

SOFFICE = "/usr/bin/soffice"
soffice = None  # the soffice process (its own process group)


def fail(message, code=1):
    """Ends soffice, prints one line, exits non-zero."""
    stop_soffice()
    sys.stderr.write("recalc.py: " + " ".join(str(message).split()) + "\n")
    sys.stderr.flush()
    os._exit(code)


def stop_soffice(desktop=None):
    """Asks soffice to quit, then kills its process group if it is still there."""
    global soffice
    proc, soffice = soffice, None
    if proc is None:
        return
    if desktop is not None:
        try:
            desktop.terminate()
        except Exception:
            pass  # the bridge goes down as soffice quits
    try:
        proc.wait(timeout=10)
    except Exception:
        pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # soffice.bin is a child of the soffice script
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(timeout=10)
    except Exception:
        pass


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

    # The watchdog and SIGTERM both end soffice before leaving.
    watchdog = threading.Timer(timeout, lambda: fail("timed out after %g s; soffice killed" % timeout, 4))
    watchdog.daemon = True
    watchdog.start()
    signal.signal(signal.SIGTERM, lambda *_: fail("terminated; soffice killed", 5))

    global soffice
    os.makedirs(profile, exist_ok=True)
    pipe = "sheetnet-recalc-%d-%s" % (os.getpid(), uuid.uuid4().hex[:8])
    log = open(os.path.join(profile, "soffice.log"), "wb")
    started = time.monotonic()
    soffice = subprocess.Popen(
        [SOFFICE, "--headless", "--invisible", "--nologo", "--norestore", "--nodefault",
         "--nolockcheck", "-env:UserInstallation=" + uno.systemPathToFileUrl(profile),
         "--accept=pipe,name=%s;urp;StarOffice.ComponentContext" % pipe],
        stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    local = uno.getComponentContext()
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
    desktop = context.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", context)

    def prop(name, value):
        p = PropertyValue()
        p.Name, p.Value = name, value
        return p

    url = uno.systemPathToFileUrl(workbook)
    results, seconds, load_seconds = [], [], []
    try:
        for number, run in enumerate(runs):
            t0 = time.monotonic()
            doc = desktop.loadComponentFromURL(url, "_blank", 0, (prop("Hidden", True),))
            load_seconds.append(time.monotonic() - t0)
            if doc is None:
                fail("LibreOffice could not load %s" % workbook, 6)
            try:
                sheets = doc.getSheets()

                def cell(ref):
                    name, row, column = ref[0], int(ref[1]), int(ref[2])
                    if not sheets.hasByName(name):
                        fail("run %d: no sheet named %r in %s" % (number, name, workbook), 7)
                    return sheets.getByName(name).getCellByPosition(column, row)

                for edit in run.get("edits", []):
                    cell(edit).setValue(float(edit[3]))
                t0 = time.monotonic()
                doc.calculateAll()
                seconds.append(time.monotonic() - t0)
                values, errors = [], []
                for i, ref in enumerate(run.get("read", [])):
                    c = cell(ref)
                    error = c.getError()
                    value = c.getValue()
                    if error != 0:
                        values.append(None)
                        errors.append([i, error])
                    elif not math.isfinite(value):
                        values.append(None)
                        errors.append([i, -1])
                    else:
                        values.append(value)
                results.append({"values": values, "errors": errors})
            finally:
                try:
                    doc.close(True)
                except Exception:
                    doc.dispose()
    except SystemExit:
        raise
    except Exception as e:
        fail("LibreOffice failed on %s: %s" % (workbook, e), 8)
    finally:
        watchdog.cancel()
        stop_soffice(desktop)

    result = {"runs": results, "seconds": seconds, "load_seconds": sum(load_seconds),
              "load_seconds_per_run": load_seconds, "start_seconds": start_seconds}
    temporary = sys.argv[2] + ".part"
    with open(temporary, "w", encoding="utf-8") as f:
        json.dump(result, f, allow_nan=False)
    os.replace(temporary, sys.argv[2])


if __name__ == "__main__":
    main()
