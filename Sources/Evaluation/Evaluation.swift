// Evaluation module: see README for its role.
