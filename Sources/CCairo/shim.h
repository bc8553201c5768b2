#ifndef SHEETNET_CCAIRO_SHIM_H
#define SHEETNET_CCAIRO_SHIM_H
#include <cairo.h>
#include <cairo-svg.h>
#include <cairo-pdf.h>
#endif
