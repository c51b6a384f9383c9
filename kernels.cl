// Chorus OpenCL kernels
