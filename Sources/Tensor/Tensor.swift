// Tensor module: see README for its role.
