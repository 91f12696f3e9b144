"""What every page shares: templates, the signed-in user, role checks, errors, CSRF, time display."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import orjson
from fastapi import Depends, Request
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates

from collector import auth
from collector.auth import Principal
from collector.deps import optional_principal
from collector.i18n import Translator
from collector.web.charts import bar_pct
from collector.web.roles import SUBJECT_VIEW, may_see, nav_for
from rules.model import Control, in_calendar

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))


class LoginRequired(Exception):
    def __init__(self, next_url: str):
        self.next_url = next_url


class PageError(Exception):
    """Shown as an HTML error page (403 forbidden, 404 not found) in the user's language; `field` is
    the translation key of the form field at fault, named on the page in the user's language."""

    def __init__(self, status_code: int, key: str, detail: str = "", field: str = ""):
        self.status_code, self.key, self.detail, self.field = status_code, key, detail, field


def web_user(request: Request, principal: Annotated[Principal | None, Depends(optional_principal)]) -> Principal:
    if principal is None or principal.kind != "user":
        raise LoginRequired(request.url.path)
    return principal


WebUser = Annotated[Principal, Depends(web_user)]


def page_for(view: str) -> Callable[[Principal], Principal]:
    """A dependency admitting only the roles that may open `view`; others get the 403 page."""

    def check(user: WebUser) -> Principal:
        if not may_see(user.role, view):
            raise PageError(403, "forbidden", view)
        return user

    return check


def require_subject_view(user: Principal, subject_kind: str) -> None:
    if not may_see(user.role, SUBJECT_VIEW.get(subject_kind, "admin")):
        raise PageError(403, "forbidden", subject_kind)


def check_csrf(user: Principal, token: str) -> None:
    if not auth.same(token, user.csrf):
        raise PageError(403, "csrf_failed")


def request_lang(request: Request, principal: Principal | None) -> str:
    lang = request.query_params.get("lang") or request.cookies.get("cw_lang") or (principal.lang if principal else "zh")
    return "en" if lang == "en" else "zh"


def _clock(tz: ZoneInfo) -> Callable[[Any, str], str]:
    def when(value: Any, fmt: str = "%Y-%m-%d %H:%M") -> str:
        if value is None or value == "":
            return "—"
        try:
            if isinstance(value, int | float):
                value = datetime.fromtimestamp(value, tz)
            elif isinstance(value, str):
                value = datetime.fromisoformat(value)
            return value.astimezone(tz).strftime(fmt)
        except (ValueError, OverflowError, OSError, TypeError, AttributeError):
            # a stored time beyond the calendar (a sender's clock at year 9999) is shown as it came
            return value.isoformat() if isinstance(value, datetime) else str(value)

    return when


def control_param(controls: Sequence[Control], control_id: str, name: str, default: float) -> float:
    """A control's parameter from the catalog in force, so pages show the thresholds actually judged."""
    c = next((c for c in controls if c.id == control_id), None)
    return float(c.params.get(name, default)) if c else default


def brief(payload: dict[str, Any], limit_chars: int = 160) -> str:
    """A payload as one short line of key=value, nested values as compact JSON."""
    parts = []
    for k, v in payload.items():
        text = v if isinstance(v, str) else orjson.dumps(v).decode()
        parts.append(f"{k}={text}")
    line = ", ".join(parts)
    return line if len(line) <= limit_chars else line[:limit_chars - 1] + "…"


def render(request: Request, name: str, principal: Principal | None, status_code: int = 200, **ctx: Any) -> Response:
    lang = request_lang(request, principal)
    state = request.app.state.cw
    # where the language switch returns to: this page, unless it answered a form
    here = str(request.url.path) + (f"?{request.url.query}" if request.url.query else "") \
        if request.method == "GET" else "/home"
    ctx.update(request=request, user=principal, lang=lang, t=Translator(lang), here=here,
               csrf=principal.csrf if principal else "", nav=nav_for(principal.role if principal else None),
               when=_clock(ZoneInfo(state.settings.site_tz)), bar_pct=bar_pct, brief=brief,
               tz=state.settings.site_tz, may_open=lambda kind: may_see(principal.role if principal else None,
                                                                         SUBJECT_VIEW.get(kind, "admin")))
    return templates.TemplateResponse(request, name, ctx, status_code=status_code)


def not_found(what: str) -> PageError:
    return PageError(404, "not_found", what)


def bad_request(key: str, detail: str = "", field: str = "") -> PageError:
    return PageError(400, key, detail, field)


def site_time(text: str, tz: ZoneInfo, field: str) -> datetime:
    """A form's date (start of that day) or date and time (YYYY-MM-DD HH:MM[:SS], ISO 8601 too), read
    in the site's zone; a refusal names `field` (a translation key: the field's label)."""
    try:
        value = datetime.fromisoformat(text.strip())
        return in_calendar(value if value.tzinfo else value.replace(tzinfo=tz))
    except (ValueError, OverflowError):
        raise bad_request("bad_date", text, field) from None


def site_zone(request: Request) -> ZoneInfo:
    return ZoneInfo(request.app.state.cw.settings.site_tz)


def require_permission(user: Principal, permission: str) -> None:
    """The server's check behind every form: the page may be open to a role that may not submit it."""
    if not user.can(permission):
        raise PageError(403, "forbidden", permission)
