"""One module per dashboard view, each with its own router."""
