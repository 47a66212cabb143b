// OpenBLAS's CBLAS interface, with its openblas_* runtime queries (core name, threads).
#include <cblas.h>
