// SignalProcessing module: see README for its role.
