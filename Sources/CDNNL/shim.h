#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_debug.h>
// oneDNN's CPU runtime on Debian is OpenMP (libgomp): its thread count is OpenMP's.
void omp_set_num_threads(int);
int omp_get_max_threads(void);
int omp_get_thread_num(void);
int omp_get_num_threads(void);
// libgomp's entry for `#pragma omp parallel` (the ABI GCC emits): runs fn(data) on a team of
// num_threads threads, the caller among them, and returns when all have finished.
void GOMP_parallel(void (*fn)(void *), void *data, unsigned num_threads, unsigned flags);
