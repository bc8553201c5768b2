#ifndef SHEETNET_CCAIRO_SHIM_H
#define SHEETNET_CCAIRO_SHIM_H
// Cairo; zlib for the checksums of CairoKit's own PNG encoder (zlib1g-dev comes with
// libcairo2-dev through libpng-dev). Cairo's cairo_surface_write_to_png spends ~150 ms on a
// 1920×1080 figure (libpng's adaptive filters at level 6); CairoKit's encoder, which writes its
// own deflate stream, takes a few milliseconds.
#include <cairo.h>
#include <cairo-svg.h>
#include <cairo-pdf.h>
// FreeType through cairo-ft, to load DejaVu Sans straight from its files (fontconfig's start-up,
// parsing some forty configuration files, costs 5–10 ms a process). libfreetype-dev also comes
// with libcairo2-dev.
#include <cairo-ft.h>
// fontconfig, only to list the machine's fonts for the generated letters (LetterRenderer); it
// comes with libcairo2-dev (libfontconfig-dev).
#include <fontconfig/fontconfig.h>
#include <zlib.h>
#endif
