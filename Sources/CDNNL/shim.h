#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_debug.h>
// oneDNN's CPU runtime on Debian is OpenMP (libgomp): its thread count is OpenMP's.
void omp_set_num_threads(int);
int omp_get_max_threads(void);
