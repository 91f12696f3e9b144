"""The command line: `main.py` lists the command modules (each exposes `register(app)`);
`clikit.py` opens the store with the configured catalog."""
