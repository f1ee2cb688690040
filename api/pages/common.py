"""What every server-rendered page shares: rendering, the role navigation and the page gate.

``page_user(*roles)`` is the page gate as a dependency: no session redirects to sign-in, a role
that may not open the page gets the Dutch 403 page. Both are exceptions handled once in the app
(``install_page_handlers``), so a page function starts with a signed-in principal of the right
role and nothing else to check.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import Depends, FastAPI, Form, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from api.auth import OptionalPrincipal, Principal, RoleConfined, check_csrf
from api.deps import templates
from api.errors import install_error_handlers
from api.formatting import euro, nl_date, nl_month, nl_number
from api.services import notifications
from api.services.rounds import Actor
from matcher.glossary import label
from matcher.records import dutch_message

# The role pages, in navigation order; ``roles`` says who may open each (the nav shows only
# those a user may open).
ROLES: tuple[dict[str, Any], ...] = (
    {
        "path": "/beoordelen",
        "title": "Beoordelen",
        "who": "Corporaties en gemeenten",
        "what": "Het maandelijkse toewijzingsvoorstel bekijken en per match accepteren of "
        "afwijzen met een reden.",
        "roles": ("admin", "gemeente", "corporatie"),
    },
    {
        "path": "/regisseur",
        "title": "Regisseur",
        "who": "Regisseurs en casemanagers",
        "what": "Voor een jongere uit je eigen caseload de best passende woonplekken zien, "
        "met uitleg waarom andere plekken niet passen.",
        "roles": ("regisseur", "admin"),
    },
    {
        "path": "/regisseur/aanmelden",
        "title": "Aanmelden",
        "who": "Regisseurs",
        "what": "Een jongere aanmelden of de gegevens wijzigen: woonvormen, voorkeursgebieden, "
        "ankerpunten en no-go-gebieden op de kaart.",
        "roles": ("regisseur",),
    },
    {
        "path": "/woningaanbod",
        "title": "Woningaanbod",
        "who": "Woningcorporaties",
        "what": "Een vrijgekomen woning aanmelden met een klik op de kaart, of een woning "
        "intrekken of als bewoond markeren.",
        "roles": ("corporatie",),
    },
    {
        "path": "/planner",
        "title": "Planner",
        "who": "Planners van gemeente en regio",
        "what": "Aanbod, contingenten en wachtenden per gemeente en woonvorm.",
        "roles": ("planner", "admin", "gemeente", "corporatie"),
    },
    {
        "path": "/contingenten",
        "title": "Contingenten",
        "who": "Gemeenten en corporaties",
        "what": "De contingentafspraken per jaar en woonvorm; een wijziging telt pas als de "
        "andere partij haar aanvaardt.",
        "roles": ("gemeente", "corporatie", "admin", "planner"),
    },
    {
        "path": "/privacy",
        "title": "Privacy",
        "who": "Functionaris gegevensbescherming",
        "what": "Het auditlog doorzoeken en exporteren, de bewaartermijnen bekijken en een "
        "inzage-export maken van alles wat stek over één jongere bewaart.",
        "roles": ("privacy",),
    },
    {
        "path": "/beheer",
        "title": "Beheer",
        "who": "Beheerder",
        "what": "Gebruikers, organisaties, de menukaart en de huurtoeslaggrenzen.",
        "roles": ("admin",),
    },
)


def nav_for(principal: Principal | None) -> list[dict[str, Any]]:
    """The role pages ``principal`` may open (all of them before sign-in: the landing page
    explains them, and each asks for sign-in)."""
    if principal is None:
        return list(ROLES)
    return [r for r in ROLES if principal.role in r["roles"]]


def render(
    request: Request,
    name: str,
    context: dict[str, Any],
    principal: Principal | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """Render a page with the helpers every template uses and the signed-in user, if any."""
    unread = 0
    if principal is not None:
        with request.app.state.sessions() as session:
            unread = notifications.unread_count(session, principal.user_id)
    context.update(
        roles=ROLES,
        nav=nav_for(principal),
        unread=unread,
        euro=euro,
        nl_number=nl_number,
        nl_date=nl_date,
        nl_month=nl_month,
        label=label,
        principal=principal,
    )
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def actor_of(principal: Principal) -> Actor:
    return Actor(principal.user_id, principal.organisation_id, principal.role)


class SignInRequired(Exception):
    """No session: the page redirects to sign-in and back."""

    def __init__(self, target: str) -> None:
        super().__init__(target)
        self.target = target


class PageForbidden(Exception):
    """Signed in, but this page or action is not for this user: a Dutch 403 page."""

    def __init__(self, principal: Principal, message: str) -> None:
        super().__init__(message)
        self.principal = principal
        self.message = message


def page_user(*roles: str) -> Callable[[Request, Principal | None], Principal]:
    """The page gate for ``roles``, as a dependency:
    ``Annotated[Principal, Depends(page_user("admin", "gemeente"))]``."""

    def gate(request: Request, principal: OptionalPrincipal) -> Principal:
        if principal is None:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            raise SignInRequired(target)
        if principal.role not in roles:
            raise PageForbidden(principal, "Deze pagina is niet voor jouw rol.")
        request.state.principal = principal  # for the error page (api.errors), with its menu
        return principal

    return gate


def form_user(*roles: str) -> Callable[..., Principal]:
    """The page gate for a form post: ``roles`` may send it, with the session's CSRF token in
    the form's ``csrf_token`` field (403 without it)."""
    gate = page_user(*roles)

    # (the gate as a default, not inside the annotation: with postponed annotations FastAPI
    # resolves annotations from the module's globals, where a closure's ``gate`` is not)
    def checked(
        csrf_token: Annotated[str, Form(max_length=100)] = "",
        principal: Principal = Depends(gate),
    ) -> Principal:
        check_csrf(principal, csrf_token)
        return principal

    return checked


def denied(request: Request, principal: Principal | None, message: str) -> HTMLResponse:
    return render(
        request,
        "denied.html",
        {"title": "Geen toegang", "message": message},
        principal,
        status_code=status.HTTP_403_FORBIDDEN,
    )


def not_found(request: Request, principal: Principal | None, message: str) -> HTMLResponse:
    return render(
        request, "denied.html", {"title": "Niet gevonden", "message": message}, principal, 404
    )


def back(path: str, anchor: str = "", **params: str | int | None) -> RedirectResponse:
    """Post/redirect/get: 303 to ``path`` with the non-empty ``params`` and an ``anchor``."""
    query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
    target = (f"{path}?{query}" if query else path) + (f"#{anchor}" if anchor else "")
    return RedirectResponse(target, status.HTTP_303_SEE_OTHER)


def install_page_handlers(app: FastAPI) -> None:
    """Handle the page gate's exceptions once for the whole app, and the domain errors
    (:func:`api.errors.install_error_handlers`: API and pages alike)."""
    install_error_handlers(app)

    @app.exception_handler(SignInRequired)
    async def sign_in(_request: Request, exc: SignInRequired) -> RedirectResponse:
        return RedirectResponse(f"/inloggen?next={quote(exc.target)}", status.HTTP_303_SEE_OTHER)

    @app.exception_handler(PageForbidden)
    async def forbidden(request: Request, exc: PageForbidden) -> HTMLResponse:
        return denied(request, exc.principal, exc.message)

    @app.exception_handler(RoleConfined)
    async def confined(request: Request, exc: RoleConfined) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": exc.detail}, status.HTTP_403_FORBIDDEN)
        return denied(request, exc.principal, "Deze pagina is niet voor jouw rol.")

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        """The API keeps FastAPI's JSON shape (``loc`` names the field) with a Dutch ``msg``;
        a page form gets a Dutch page naming the fields."""
        if request.url.path.startswith("/api/"):
            detail = [
                {"loc": list(e.get("loc", ())), "msg": dutch_message(e), "type": e.get("type")}
                for e in exc.errors()
            ]
            return JSONResponse({"detail": detail}, status.HTTP_422_UNPROCESSABLE_CONTENT)
        fields = (
            ", ".join(sorted({str(e["loc"][-1]) for e in exc.errors() if e.get("loc")}))
            or "het formulier"
        )
        return render(
            request,
            "denied.html",
            {
                "title": "Niet opgeslagen",
                "message": f"Niet opgeslagen: controleer {fields}. Er is niets veranderd.",
            },
            None,
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        )
