#ifndef SHEETNET_CCAIRO_SHIM_H
#define SHEETNET_CCAIRO_SHIM_H
// Cairo, and zlib for CairoKit's own PNG encoder (zlib1g-dev comes with libcairo2-dev through
// libpng-dev). Cairo's cairo_surface_write_to_png spends ~150 ms on a 1920×1080 figure (libpng's
// adaptive filters at level 6); CairoKit's encoder takes about a fifth of that.
#include <cairo.h>
#include <cairo-svg.h>
#include <cairo-pdf.h>
#include <zlib.h>
#endif
