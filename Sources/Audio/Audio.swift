// Audio module: see README for its role.
