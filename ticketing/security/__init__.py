"""Who may talk to whom: the cluster secret, the members-only handshake, TLS certificates."""
