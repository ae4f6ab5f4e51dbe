"""One module per AWS resource kind: each a description the engine drives (see base)."""
