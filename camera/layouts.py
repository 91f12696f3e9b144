"""Recording-store layouts: how a segment's camera and start (and end) are written in its path.

A pattern is a relative path with placeholders: `{camera}`, `{start:FMT}`, `{end:FMT}` (FMT made
of strftime directives %Y %y %m %d %H %M %S %f %j %s and literal text), and `{NAME}` for parts to
ignore. Times are site local unless the pattern starts with `utc:`. An end earlier than its start
means the next day. Named layouts:
- `frigate`: `YYYY-MM-DD/HH/<camera>/MM.SS.mp4`, UTC.
- `zoneminder-deep`: `<monitor>/YY/MM/DD/HH/MM/SS/<event>-video.mp4` (ZoneMinder "Deep"), server local time.
- `zoneminder-medium`: `<monitor>/YYYY-MM-DD/<event>/<event>-video.mp4` (ZoneMinder "Medium"): the name
  gives only the day; the start comes from the file's modification time less its duration.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo

NAMED = {
    "frigate": "utc:{start:%Y-%m-%d}/{start:%H}/{camera}/{start:%M.%S}.mp4",
    "zoneminder-deep": "{camera}/{start:%y}/{start:%m}/{start:%d}/{start:%H}/{start:%M}/{start:%S}/{event}.{ext}",
    "zoneminder-medium": "{camera}/{day:%Y-%m-%d}/{event}/{name}.{ext}",
}
DAY_S = 86400.0
VIDEO_EXTS = "mp4|mkv|avi|mov|ts|m4v|h264|265|flv"
_DIRECTIVES = {"Y": r"\d{4}", "y": r"\d{2}", "m": r"\d{2}", "d": r"\d{2}", "H": r"\d{2}", "M": r"\d{2}",
               "S": r"\d{2}", "f": r"\d{1,6}", "j": r"\d{3}", "s": r"\d{9,11}"}
_PLACEHOLDER = re.compile(r"\{(\w+)(?::([^}]*))?\}")


class LayoutError(ValueError):
    """The layout name or pattern cannot be understood."""


_DATE_DIRECTIVES = ("Y", "y", "m", "d", "j")


@dataclass(frozen=True)
class Layout:
    pattern: str
    regex: re.Pattern[str]
    tz: tzinfo
    has_end: bool
    start_from_mtime: bool  # names give only a day: the start comes from the file
    start_keys: tuple[tuple[str, str], ...] = ()  # (strftime directive, regex group)
    end_keys: tuple[tuple[str, str], ...] = ()
    # the same pattern cut at its last '/': folders are matched once, then only file names
    dir_regex: re.Pattern[str] | None = None
    file_regex: re.Pattern[str] | None = None
    _hours: dict[tuple[int, int, int, int], float] = field(default_factory=dict, compare=False, repr=False)

    def parse_epoch(self, rel_path: str) -> tuple[str, float | None, float | None] | None:
        """(camera, start, end) in epoch seconds for a path relative to the store root; None when not a segment."""
        m = self.regex.fullmatch(rel_path)
        return None if m is None else self.from_groups(m.groupdict())

    def from_groups(self, g: dict[str, str | None]) -> tuple[str, float | None, float | None] | None:
        """(camera, start, end) from the named groups of a match."""
        start_v = {d: v for d, n in self.start_keys if (v := g.get(n)) is not None}
        try:
            start = self._epoch(start_v)
            end = None
            if self.has_end:
                end_v = {d: v for d, v in start_v.items() if d in _DATE_DIRECTIVES}
                end_v.update((d, v) for d, n in self.end_keys if (v := g.get(n)) is not None)
                end = self._epoch(end_v)
        except ValueError:
            return None
        if start is not None and end is not None and end < start:
            end += DAY_S
        return g.get("camera") or "default", start, end

    def parse(self, rel_path: str) -> tuple[str, datetime | None, datetime | None] | None:
        """(camera, start, end) as site-zone datetimes; None when the path is not a segment."""
        r = self.parse_epoch(rel_path)
        if r is None:
            return None
        cam, start, end = r
        return (cam, None if start is None else datetime.fromtimestamp(start, self.tz),
                None if end is None else datetime.fromtimestamp(end, self.tz))

    def _epoch(self, v: dict[str, str]) -> float | None:
        if not v:
            return None
        if "s" in v:
            return float(v["s"])
        year = int(v["Y"]) if "Y" in v else 2000 + int(v["y"]) if "y" in v else 1970
        if "j" in v:
            day0 = date(year, 1, 1) + timedelta(days=int(v["j"]) - 1)
            month, day = day0.month, day0.day
        else:
            month, day = int(v.get("m", 1)), int(v.get("d", 1))
        hour, minute, second = int(v.get("H", 0)), int(v.get("M", 0)), int(v.get("S", 0))
        if minute > 59 or second > 60:
            raise ValueError("minute or second out of range")
        key = (year, month, day, hour)
        base = self._hours.get(key)
        if base is None:  # one datetime per hour of footage: the rest is arithmetic
            base = self._hours[key] = datetime(year, month, day, hour, tzinfo=self.tz).timestamp()
        micro = int(v["f"].ljust(6, "0")) / 1e6 if "f" in v else 0.0
        return base + minute * 60 + second + micro


def _format_regex(fmt: str, prefix: str, seen: set[str]) -> str:
    out, i = [], 0
    while i < len(fmt):
        if fmt[i] == "%" and i + 1 < len(fmt):
            d = fmt[i + 1]
            if d not in _DIRECTIVES:
                raise LayoutError(f"unsupported strftime directive %{d} (use %Y %y %m %d %H %M %S %f %j %s)")
            name = prefix + d
            out.append(f"(?P={name})" if name in seen else f"(?P<{name}>{_DIRECTIVES[d]})")
            seen.add(name)
            i += 2
        else:
            out.append(re.escape(fmt[i]))
            i += 1
    return "".join(out)


def _pattern_regex(body: str, fields: set[str]) -> str:
    """Regex source for a pattern (or a part of one); adds the placeholder names it meets to `fields`."""
    parts: list[str] = []
    seen: set[str] = set()
    pos = 0
    for m in _PLACEHOLDER.finditer(body):
        parts.append(re.escape(body[pos:m.start()]))
        name, fmt = m.group(1), m.group(2)
        fields.add(name)
        if name in ("start", "end", "day"):
            if not fmt:
                raise LayoutError(f"{{{name}}} needs a strftime format, e.g. {{{name}:%Y%m%d}}")
            parts.append(_format_regex(fmt, {"start": "s_", "end": "e_", "day": "d_"}[name], seen))
        elif name == "camera":
            parts.append("(?P=camera)" if "camera" in seen else "(?P<camera>[^/]+)")
            seen.add("camera")
        elif name == "ext":
            parts.append(f"(?:{VIDEO_EXTS})")
        else:
            parts.append("[^/]+?")
        pos = m.end()
    parts.append(re.escape(body[pos:]))
    return "".join(parts)


def _last_slash(body: str) -> int:
    """Index of the last '/' outside placeholders, or -1."""
    depth, last = 0, -1
    for i, ch in enumerate(body):
        depth += ch == "{"
        depth -= ch == "}"
        if ch == "/" and depth == 0:
            last = i
    return last


def _compile(source: str, pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(source)
    except re.error as e:
        raise LayoutError(f"pattern {pattern!r}: {e}") from None


def compile_pattern(pattern: str, tz: tzinfo) -> Layout:
    utc = pattern.lower().startswith("utc:")
    body = pattern[4:] if utc else pattern
    fields: set[str] = set()
    regex = _compile(_pattern_regex(body, fields), pattern)
    if "start" not in fields and "day" not in fields:
        raise LayoutError(f"pattern {pattern!r} has no {{start:...}} or {{day:...}} placeholder")
    cut = _last_slash(body)
    dir_regex = _compile(_pattern_regex(body[:cut], set()), pattern) if cut >= 0 else None
    file_regex = _compile(_pattern_regex(body[cut + 1:], set()), pattern)
    keys = {p: tuple((name[2:], name) for name in regex.groupindex if name.startswith(p)) for p in ("s_", "e_")}
    return Layout(pattern, regex, UTC if utc else tz, "end" in fields, "start" not in fields,
                  keys["s_"], keys["e_"], dir_regex=dir_regex, file_regex=file_regex)


def parse_layout(spec: str, tz: tzinfo) -> Layout:
    """A named layout (frigate, zoneminder-deep, zoneminder-medium) or a pattern."""
    spec = spec.strip()
    if spec in NAMED:
        return compile_pattern(NAMED[spec], tz)
    if "{" not in spec:
        raise LayoutError(f"unknown layout {spec!r}: use {', '.join(NAMED)} or a pattern with {{start:...}}")
    return compile_pattern(spec, tz)
