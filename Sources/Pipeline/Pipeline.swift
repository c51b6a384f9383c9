// Pipeline module: see README for its role.
