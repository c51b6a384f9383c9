// Annotations module: see README for its role.
