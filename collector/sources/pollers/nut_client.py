"""A small asyncio client for the NUT network protocol (upsd, TCP 3493).

Only what monitoring needs: LIST UPS, LIST VAR, GET VAR, and USERNAME/PASSWORD/LOGIN when
configured. Replies are lines; `ERR <CODE>` replies raise NutError carrying the code
(DATA-STALE, DRIVER-NOT-CONNECTED, UNKNOWN-UPS, ACCESS-DENIED, ...).
"""
from __future__ import annotations

import asyncio
import shlex
from types import TracebackType

DEFAULT_PORT = 3493


class NutError(Exception):
    def __init__(self, code: str, detail: str = ""):
        super().__init__(f"{code}{': ' + detail if detail else ''}")
        self.code = code


def _words(line: str) -> list[str]:
    """Split a reply line: words and double-quoted strings with backslash escapes."""
    try:
        return shlex.split(line, posix=True)
    except ValueError as e:
        raise NutError("PROTOCOL", f"cannot parse {line!r}: {e}") from None


class NutClient:
    def __init__(self, host: str = "127.0.0.1", port: int = DEFAULT_PORT, *, username: str | None = None,
                 password: str | None = None, timeout_s: float = 5.0):
        self.host, self.port, self.timeout_s = host, port, timeout_s
        self.username, self.password = username, password
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def __aenter__(self) -> NutClient:
        await self.connect()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()

    async def connect(self) -> None:
        try:
            self._reader, self._writer = await asyncio.wait_for(
                asyncio.open_connection(self.host, self.port), self.timeout_s)
        except (OSError, TimeoutError) as e:
            raise NutError("CONNECT-FAILED", f"{self.host}:{self.port}: {e or 'timeout'}") from None

    async def close(self) -> None:
        if self._writer is not None:
            try:
                self._writer.write(b"LOGOUT\n")
                await asyncio.wait_for(self._writer.drain(), 1.0)
            except (OSError, TimeoutError):
                pass
            self._writer.close()
            self._writer = self._reader = None

    async def _line(self) -> str:
        assert self._reader is not None
        try:
            raw = await asyncio.wait_for(self._reader.readline(), self.timeout_s)
        except TimeoutError:
            raise NutError("TIMEOUT", f"{self.host}:{self.port} did not answer") from None
        if not raw:
            raise NutError("CONNECTION-CLOSED", f"{self.host}:{self.port}")
        line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
        if line.startswith("ERR "):
            code, _, detail = line[4:].partition(" ")
            raise NutError(code, detail)
        return line

    async def _command(self, command: str) -> str:
        if self._writer is None:
            await self.connect()
        assert self._writer is not None
        self._writer.write(command.encode() + b"\n")
        await self._writer.drain()
        return await self._line()

    async def _list(self, what: str) -> list[list[str]]:
        first = await self._command(f"LIST {what}")
        if first != f"BEGIN LIST {what}":
            raise NutError("PROTOCOL", f"expected 'BEGIN LIST {what}', got {first!r}")
        rows = []
        while (line := await self._line()) != f"END LIST {what}":
            rows.append(_words(line))
        return rows

    async def login(self, ups: str) -> None:
        """Authenticate (when a user is configured) and attach to the UPS, as upsmon does."""
        if not self.username:
            return
        for command in (f"USERNAME {self.username}", f"PASSWORD {self.password or ''}", f"LOGIN {ups}"):
            reply = await self._command(command)
            if not reply.startswith("OK"):
                raise NutError("PROTOCOL", f"unexpected reply {reply!r}")

    async def list_ups(self) -> dict[str, str]:
        """UPS name -> description."""
        return {w[1]: (w[2] if len(w) > 2 else "") for w in await self._list("UPS") if w[:1] == ["UPS"]}

    async def list_var(self, ups: str) -> dict[str, str]:
        return {w[2]: (w[3] if len(w) > 3 else "") for w in await self._list(f"VAR {ups}") if w[:1] == ["VAR"]}

    async def get_var(self, ups: str, var: str) -> str:
        w = _words(await self._command(f"GET VAR {ups} {var}"))
        if w[:3] != ["VAR", ups, var] or len(w) < 4:
            raise NutError("PROTOCOL", f"unexpected reply to GET VAR {ups} {var}: {w!r}")
        return w[3]
