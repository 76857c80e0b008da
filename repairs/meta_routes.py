"""Health and reference data."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text

from repairs.auth.dependencies import ContextDep, PrincipalDep
from repairs.problems import problem_response

router = APIRouter()


class CategoryOut(BaseModel):
    code: str
    name: str
    description: str
    default_priority: str


@router.get("/healthz", tags=["meta"], summary="200 when the service can serve")
def healthz(ctx: ContextDep) -> JSONResponse:
    try:
        with ctx.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception:
        return problem_response(503, "unavailable", "Database unavailable")
    return JSONResponse({"status": "ok"})


@router.get("/api/v1/categories", response_model=list[CategoryOut], tags=["meta"], summary="Repair categories")
def categories(_principal: PrincipalDep, ctx: ContextDep) -> list[CategoryOut]:
    return [
        CategoryOut(code=c.code, name=c.name, description=c.description, default_priority=c.default_priority.value)
        for c in ctx.policy.categories.values()
    ]
