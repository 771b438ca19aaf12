"""REST routes of the registry, under /api/v1."""

import uuid
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Path, Query, Request, Response

from service.core.auth import AdminDep
from service.core.caching import CONDITIONAL_READ, json_with_etag, written
from service.core.db import SessionDep
from service.core.errors import PROBLEM_RESPONSES, WRITE_RESPONSES
from service.core.models import Rfc3339
from service.core.pagination import DEFAULT_LIMIT, CursorParam, LimitParam, Page
from service.core.preconditions import IfMatch
from service.registry import service
from service.registry.schemas import (
    EngagementOut,
    InstitutionIn,
    InstitutionOut,
    InstitutionPatch,
    MembershipIn,
    MembershipOut,
    MembershipPatch,
    OrganizationDetail,
    OrganizationIn,
    OrganizationOut,
    OrganizationPatch,
    RepresentationOut,
)

router = APIRouter(prefix="/api/v1", tags=["registry"], responses=PROBLEM_RESPONSES)

InstitutionCode = Annotated[str, Path(max_length=64, description="e.g. `VP`, `IeM%20IC`")]
CountryParam = Annotated[
    str | None, Query(max_length=2, pattern="^[A-Za-z]{2}$", description="ISO 3166-1 alpha-2 country code.")
]


@router.get("/institutions", response_model=Page[InstitutionOut], responses=CONDITIONAL_READ)
async def list_institutions(request: Request, session: SessionDep, country: CountryParam = None) -> Response:
    """Every national institution named in the sources (the list is short; one page)."""
    return json_with_etag(request, await service.list_institutions(session, country))


@router.get("/institutions/{code}", response_model=InstitutionOut, responses=CONDITIONAL_READ)
async def get_institution(
    request: Request,
    session: SessionDep,
    code: InstitutionCode,
) -> Response:
    return json_with_etag(request, await service.get_institution(session, code))


@router.get(
    "/organizations",
    response_model=Page[OrganizationDetail] | Page[OrganizationOut],
    responses=CONDITIONAL_READ,
)
async def list_organizations(
    request: Request,
    session: SessionDep,
    q: Annotated[
        str | None, Query(max_length=200, description="Acronym or any name; case- and diacritic-insensitive.")
    ] = None,
    coordinator: Annotated[
        str | None, Query(max_length=64, description="Code of the coordinating institution.")
    ] = None,
    member_country: CountryParam = None,
    financial_obligation: bool | None = None,
    updated_since: Annotated[Rfc3339 | None, Query(description="RFC 3339; entities changed at or after it.")] = None,
    expand: Annotated[
        Literal["memberships"] | None,
        Query(
            description="`memberships`: each organisation with its memberships, as `/organizations/{id}` gives them."
        ),
    ] = None,
    limit: LimitParam = DEFAULT_LIMIT,
    cursor: CursorParam = None,
) -> Response:
    query = service.organization_query(
        q=q,
        coordinator=coordinator,
        member_country=member_country,
        financial_obligation=financial_obligation,
        updated_since=updated_since,
    )
    page = await service.page_organizations(session, query, limit, cursor, with_memberships=expand == "memberships")
    return json_with_etag(request, page)


@router.get("/organizations/{organization_id:uuid}", response_model=OrganizationDetail, responses=CONDITIONAL_READ)
async def get_organization(request: Request, session: SessionDep, organization_id: uuid.UUID) -> Response:
    """One organisation with its memberships, their coordinators and dated events."""
    return json_with_etag(request, await service.get_organization(session, organization_id))


@router.get("/memberships/{membership_id:uuid}", response_model=MembershipOut, responses=CONDITIONAL_READ)
async def get_membership(request: Request, session: SessionDep, membership_id: uuid.UUID) -> Response:
    """One membership; its ETag is what an edit of it sends as If-Match."""
    return json_with_etag(request, await service.get_membership(session, membership_id))


@router.get("/engagements", response_model=Page[EngagementOut], responses=CONDITIONAL_READ)
async def list_engagements(
    request: Request,
    session: SessionDep,
    year: Annotated[int | None, Query(ge=1900, le=2100)] = None,
    organization: Annotated[str | None, Query(max_length=200, description="Organisation id or acronym.")] = None,
    limit: LimitParam = DEFAULT_LIMIT,
    cursor: CursorParam = None,
) -> Response:
    """Visits and meetings, oldest first."""
    page = await service.page_engagements(session, year=year, organization=organization, limit=limit, cursor=cursor)
    return json_with_etag(request, page)


@router.get("/representations", response_model=Page[RepresentationOut], responses=CONDITIONAL_READ)
async def list_representations(
    request: Request,
    session: SessionDep,
    organization: Annotated[str | None, Query(max_length=200, description="Organisation id or acronym.")] = None,
    limit: LimitParam = DEFAULT_LIMIT,
    cursor: CursorParam = None,
) -> Response:
    """Permanent representations, in the source's order."""
    page = await service.page_representations(session, organization=organization, limit=limit, cursor=cursor)
    return json_with_etag(request, page)


# --- admin writes ---------------------------------------------------------------------------
# PATCH bodies are JSON Merge Patches; every PATCH and DELETE names the version it was made against in
# If-Match (the ETag of the entity's GET), and answers with the new state's ETag.

admin_router = APIRouter(prefix="/api/v1", tags=["registry: admin"], responses=WRITE_RESPONSES)


@admin_router.post("/institutions", status_code=201, response_model=InstitutionOut)
async def create_institution(session: SessionDep, admin: AdminDep, payload: InstitutionIn) -> Response:
    out = await service.create_institution(session, admin, payload)
    return written(out, 201, {"Location": f"/api/v1/institutions/{quote(out['code'])}"})


@admin_router.patch("/institutions/{code}", response_model=InstitutionOut)
async def update_institution(
    session: SessionDep, admin: AdminDep, code: InstitutionCode, payload: InstitutionPatch, if_match: IfMatch = None
) -> Response:
    return written(await service.update_institution(session, admin, code, payload, if_match))


@admin_router.delete("/institutions/{code}", status_code=204)
async def delete_institution(
    session: SessionDep, admin: AdminDep, code: InstitutionCode, if_match: IfMatch = None
) -> Response:
    """Refused with 409 while memberships, goals or tasks refer to the institution."""
    await service.delete_institution(session, admin, code, if_match)
    return Response(status_code=204)


@admin_router.post("/organizations", status_code=201, response_model=OrganizationDetail)
async def create_organization(session: SessionDep, admin: AdminDep, payload: OrganizationIn) -> Response:
    out = await service.create_organization(session, admin, payload)
    return written(out, 201, {"Location": f"/api/v1/organizations/{out['id']}"})


@admin_router.patch("/organizations/{organization_id:uuid}", response_model=OrganizationDetail)
async def update_organization(
    session: SessionDep,
    admin: AdminDep,
    organization_id: uuid.UUID,
    payload: OrganizationPatch,
    if_match: IfMatch = None,
) -> Response:
    return written(await service.update_organization(session, admin, organization_id, payload, if_match))


@admin_router.delete("/organizations/{organization_id:uuid}", status_code=204)
async def delete_organization(
    session: SessionDep, admin: AdminDep, organization_id: uuid.UUID, if_match: IfMatch = None
) -> Response:
    """Deletes the organisation and its memberships, leaving tombstones in the changes feed."""
    await service.delete_organization(session, admin, organization_id, if_match)
    return Response(status_code=204)


@admin_router.post("/organizations/{organization_id:uuid}/memberships", status_code=201, response_model=MembershipOut)
async def create_membership(
    session: SessionDep, admin: AdminDep, organization_id: uuid.UUID, payload: MembershipIn
) -> Response:
    out = await service.create_membership(session, admin, organization_id, payload)
    return written(out, 201, {"Location": f"/api/v1/memberships/{out['id']}"})


@admin_router.patch("/memberships/{membership_id:uuid}", response_model=MembershipOut)
async def update_membership(
    session: SessionDep, admin: AdminDep, membership_id: uuid.UUID, payload: MembershipPatch, if_match: IfMatch = None
) -> Response:
    return written(await service.update_membership(session, admin, membership_id, payload, if_match))


@admin_router.delete("/memberships/{membership_id:uuid}", status_code=204)
async def delete_membership(
    session: SessionDep, admin: AdminDep, membership_id: uuid.UUID, if_match: IfMatch = None
) -> Response:
    await service.delete_membership(session, admin, membership_id, if_match)
    return Response(status_code=204)
