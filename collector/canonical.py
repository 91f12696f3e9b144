"""One byte-exact JSON form for everything that is hashed or signed."""
from __future__ import annotations

from typing import Any

import orjson


def canonical(obj: Any) -> bytes:
    """Sorted keys, no whitespace, UTF-8. The same object always gives the same bytes."""
    return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)


def loads(data: bytes | str) -> Any:
    return orjson.loads(data)
