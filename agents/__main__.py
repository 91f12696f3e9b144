"""`python -m agents run --config FILE`: the long-running agent without the full command line.

`clausewatch agent run` checks the configuration and then becomes this process (exec, same pid),
so the idle agent does not carry the CLI framework's memory.
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from agents.config_view import ConfigViewError, load_config_view


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m agents")
    ap.add_argument("command", choices=["run"])
    ap.add_argument("--config", type=Path, required=True)
    ap.add_argument("--iterations", type=int, default=None)
    args = ap.parse_args(argv)
    try:
        cfg = load_config_view(args.config)
    except ConfigViewError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from agents.daemon import Agent

    Agent.create(cfg, config_path=args.config).run(iterations=args.iterations)
    return 0


if __name__ == "__main__":
    sys.exit(main())
