"""What the agent enforces on the host (not only observes)."""
