#include <mpi.h>

/* Open MPI's handles are macros over its globals; Swift sees them through these. */
static inline MPI_Comm chorus_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype chorus_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype chorus_mpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Datatype chorus_mpi_byte(void) { return MPI_BYTE; }
static inline MPI_Datatype chorus_mpi_int64(void) { return MPI_INT64_T; }
static inline MPI_Op chorus_mpi_sum(void) { return MPI_SUM; }
static inline MPI_Info chorus_mpi_info_null(void) { return MPI_INFO_NULL; }
static inline int chorus_mpi_comm_type_shared(void) { return MPI_COMM_TYPE_SHARED; }
static inline void *chorus_mpi_in_place(void) { return MPI_IN_PLACE; }
