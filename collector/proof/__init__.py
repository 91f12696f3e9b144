"""Proof: the hash-chained ledger, Merkle roots of batches, the site key, canonical bytes and
`ledger verify --deep`."""
