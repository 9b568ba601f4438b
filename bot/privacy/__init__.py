"""Personal data protection: encryption at rest and keyed hashes (design.md §6)."""
