"""Administration of catalog names: each department's and fee type's name in the
languages other than the default one (admin:settings). A blank name falls back to the
default language's; every change is audited."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from shared import audit
from shared.card_numbers import CARD_NUMBER_REFUSED, holds_card_number
from shared.catalog_names import set_translations
from shared.i18n import LOCALE_NAMES, LOCALES
from shared.i18n import gettext_ as _
from shared.models import Department, FeeType
from shared.web.endpoint import page
from staff.access import StaffContext, requires
from staff.templating import render
from staff.web import form_text, redirect_to, settings_of

NOTICE = "staff_catalog_notice"
NAME_MAX = 200


def _other_languages(request: Request) -> list[str]:
    default = settings_of(request).default_locale
    return [code for code in LOCALES if code != default]


def _names(
    request: Request, prefix: str, languages: list[str], errors: dict[str, str]
) -> dict[str, str]:
    names = {}
    for code in languages:
        field = f"{prefix}-{code}"
        names[code] = form_text(request, field)
        if len(names[code]) > NAME_MAX:
            errors[field] = _("Keep the name under %(max)s characters.") % {"max": NAME_MAX}
        elif holds_card_number(names[code]):
            errors[field] = _(CARD_NUMBER_REFUSED)
    return names


def _page(request: Request, db: Session, errors: dict[str, str] | None = None) -> Response:
    departments = db.scalars(select(Department).order_by(Department.name)).all()
    sections = [
        (
            department,
            [(f"department-{department.id}", department, _("Department"))]
            + [
                (f"fee-{fee.id}", fee, _("Fee"))
                for fee in sorted(department.fee_types, key=lambda f: f.name)
            ],
        )
        for department in departments
    ]
    context = {
        "sections": sections,
        "languages": [(code, LOCALE_NAMES[code]) for code in _other_languages(request)],
        "default_language": LOCALE_NAMES.get(settings_of(request).default_locale, ""),
        "errors": errors or {},
        "form": request.state.form if errors else {},
        "notice": request.session.pop(NOTICE, None),
    }
    return render(request, "staff/admin/catalog.html", context, 422 if errors else 200)


@page
@requires("admin:settings")
def catalog(request: Request, db: Session) -> Response:
    return _page(request, db)


@page
@requires("admin:settings")
def department_names(request: Request, db: Session) -> Response:
    """Save one department's names and its fee types' names."""
    department = db.get(Department, request.path_params["department_id"])
    if department is None:
        raise HTTPException(404)
    staff: StaffContext = request.state.staff
    languages = _other_languages(request)
    errors: dict[str, str] = {}
    wanted: list[tuple[Department | FeeType, dict[str, str]]] = [
        (department, _names(request, f"department-{department.id}", languages, errors))
    ]
    fee_types = db.scalars(select(FeeType).where(FeeType.department_id == department.id))
    wanted += [(fee, _names(request, f"fee-{fee.id}", languages, errors)) for fee in fee_types]
    if errors:
        return _page(request, db, errors)
    changed = [item for item, names in wanted if set_translations(item, names)]
    for item in changed:
        audit.record(
            db,
            staff.actor,
            audit.AuditAction.CATALOG_NAMES_CHANGED,
            "department" if isinstance(item, Department) else "fee_type",
            item.code,
            {t.locale: t.name for t in item.translations},
        )
    request.session[NOTICE] = (
        _("Names for %(department)s saved.") if changed else _("Nothing to save.")
    ) % {"department": department.name}
    return redirect_to(request, "staff:admin_catalog")
