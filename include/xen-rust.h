#ifndef XEN_RUST_H
#define XEN_RUST_H
#include <xen/types.h>
int xen_rust_glue_selftest(void);
#endif
