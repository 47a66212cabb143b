// LAPACK's C interface (Debian liblapacke-dev), used for ZCA whitening's SVD in double precision.
#include <lapacke.h>
