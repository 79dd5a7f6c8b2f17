"""synth: makers of verifiable tasks (procedural families, text, the policy itself)."""
