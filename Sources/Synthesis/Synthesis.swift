// Synthesis module: see README for its role.
