#!/usr/bin/python3
"""Renders one sheet range of a workbook to PNG with LibreOffice itself (for README's picture).

Usage: /usr/bin/python3 docs/render_workbook.py STEP.xlsx SHEET RANGE OUT.png [WIDTH]
Runs a headless soffice (libreoffice-calc-nogui, python3-uno), loads the workbook, recalculates,
prints RANGE of SHEET to PDF with LibreOffice's own renderer, and turns its first page into PNG
with pdftoppm (poppler-utils).
"""
import os, shutil, subprocess, sys, tempfile, time
import uno
from com.sun.star.beans import PropertyValue


def prop(name, value):
    p = PropertyValue()
    p.Name, p.Value = name, value
    return p


def main():
    path, sheet_name, cell_range, out = sys.argv[1:5]
    width = int(sys.argv[5]) if len(sys.argv) > 5 else 1600
    profile = tempfile.mkdtemp(prefix="sheetnet-render-")
    pipe = "sheetnet_render_%d" % os.getpid()
    office = subprocess.Popen(["soffice", "--headless", "--invisible", "--nologo", "--norestore", "--nodefault",
                               "-env:UserInstallation=file://" + profile,
                               "--accept=pipe,name=%s;urp;StarOffice.ComponentContext" % pipe],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        local = uno.getComponentContext()
        resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
        for _ in range(120):
            try:
                context = resolver.resolve("uno:pipe,name=%s;urp;StarOffice.ComponentContext" % pipe)
                break
            except Exception:
                time.sleep(0.5)
        desktop = context.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", context)
        copy = os.path.join(profile, "step.xlsx")
        shutil.copy(path, copy)
        doc = desktop.loadComponentFromURL(uno.systemPathToFileUrl(copy), "_blank", 0, (prop("Hidden", True),))
        if doc is None:
            sys.exit("render_workbook: LibreOffice could not load " + path)
        doc.calculateAll()
        sheet = doc.Sheets.getByName(sheet_name)
        controller = doc.getCurrentController()
        controller.setActiveSheet(sheet)
        area = sheet.getCellRangeByName(cell_range)
        controller.select(area)
        # One page as large as the range, so the PDF holds it whole at 100 %.
        size = area.Size
        style = doc.StyleFamilies.getByName("PageStyles").getByName(sheet.PageStyle)
        style.IsLandscape = False
        style.LeftMargin = style.RightMargin = style.TopMargin = style.BottomMargin = 300
        style.HeaderIsOn = style.FooterIsOn = False
        style.Width, style.Height = size.Width + 700, size.Height + 700
        style.ScaleToPagesX, style.ScaleToPagesY = 1, 1
        pdf = os.path.join(profile, "sheet.pdf")
        data = uno.Any("[]com.sun.star.beans.PropertyValue", (prop("Selection", area),))
        doc.storeToURL(uno.systemPathToFileUrl(pdf), (prop("FilterName", "calc_pdf_Export"), prop("FilterData", data)))
        doc.close(True)
        # The first page of the selection, as PNG at `width` pixels (poppler-utils' pdftoppm).
        subprocess.run(["pdftoppm", "-png", "-singlefile", "-f", "1", "-l", "1", "-scale-to-x", str(width),
                        "-scale-to-y", "-1", pdf, os.path.splitext(os.path.abspath(out))[0]], check=True)
        try:
            desktop.terminate()
        except Exception:
            pass
    finally:
        time.sleep(0.5)
        try:
            os.killpg(office.pid, 9)
        except Exception:
            pass
        shutil.rmtree(profile, ignore_errors=True)


main()
