#ifndef SHEETNET_CBLAS_SHIM_H
#define SHEETNET_CBLAS_SHIM_H
#include <cblas.h>
#endif
