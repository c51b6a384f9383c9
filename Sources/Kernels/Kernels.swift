// Kernels module: see README for its role.
public let kernelSourceLength = embeddedKernelSource.utf8.count
