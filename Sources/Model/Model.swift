// Model module: see README for its role.
