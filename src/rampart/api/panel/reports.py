"""The Reports page: the stored daily and weekly reports rendered with their charts, each
downloadable as Markdown and its charts as PNG; a report for the last finished day or week
made on request, as ``rampart report`` makes it.

It reads what ``GET /admin/reports`` and ``GET /admin/reports/{id}`` send (the same store
functions). Markdown becomes HTML with markdown-it (CommonMark, raw HTML off: a report's text
is shown, never run).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from markdown_it import MarkdownIt

from rampart.api.panel.actions import Action, action
from rampart.api.panel.sessions import PanelSession
from rampart.api.panel.web import HEADERS, Who, ctx_of, render
from rampart.api.routes_reports import ReportListItem
from rampart.reports.period import default_period

router = APIRouter(include_in_schema=False)
ReportId = Annotated[int, Path(ge=1, le=2**53)]
Kind = Literal["daily", "weekly", "investor_weekly", "research"]


def to_html(markdown: str, report_id: int, charts: set[str]) -> str:
    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    tokens = md.parse(markdown)
    for token in tokens:
        for child in token.children or ():
            src = child.attrGet("src") if child.type == "image" else None
            if isinstance(src, str) and src in charts:
                child.attrSet("src", f"/panel/reports/{report_id}/charts/{src}")
    return str(md.renderer.render(tokens, md.options, {}))


async def _stored(request: Request, report_id: int) -> Any:
    return await ctx_of(request).operator.report(report_id)


@router.get("/panel/reports")
async def reports(
    request: Request,
    who: Who,
    kind: Annotated[Kind | None, Query()] = None,
) -> Response:
    if not who.reads_all:
        return render(request, "missing.html", who, status=403, what=None)
    found = await ctx_of(request).operator.reports(kind, 100)
    listed = [ReportListItem(**r.listing()).model_dump(mode="json") for r in found]
    return render(request, "reports.html", who, reports=listed, kind=kind)


@router.get("/panel/reports/{report_id}")
async def report(request: Request, who: Who, report_id: ReportId) -> Response:
    if not who.reads_all:
        return render(request, "missing.html", who, status=403, what=None)
    found = await _stored(request, report_id)
    if found is None:
        return render(request, "missing.html", who, status=404, what=f"report {report_id}")
    body = to_html(found.markdown, report_id, set(found.charts))
    return render(
        request, "report.html", who, r=found.listing(), body=body, charts=sorted(found.charts)
    )


@router.get("/panel/reports/{report_id}/report.md")
async def markdown(request: Request, who: Who, report_id: ReportId) -> Response:
    found = await _stored(request, report_id) if who.reads_all else None
    if found is None:
        return Response("There is no such report.", status_code=404, headers=HEADERS)
    name = f"rampart-{found.kind}-{report_id}.md"
    return Response(
        found.markdown,
        media_type="text/markdown; charset=utf-8",
        headers={**HEADERS, "content-disposition": f'attachment; filename="{name}"'},
    )


@router.get("/panel/reports/{report_id}/charts/{name}")
async def chart(
    request: Request, who: Who, report_id: ReportId, name: Annotated[str, Path(max_length=64)]
) -> Response:
    found = await _stored(request, report_id) if who.reads_all else None
    if found is None or name not in found.charts:
        return Response("There is no such chart.", status_code=404, headers=HEADERS)
    return Response(found.charts[name], media_type="image/png", headers=HEADERS)


def _maker(kind: str) -> Any:
    async def make(request: Request, who: PanelSession, target: str, f: dict[str, str]) -> str:
        ctx = ctx_of(request)
        now = ctx.business.now_ms()
        period = default_period(kind, now)
        # Saved first: the store holds everything up to the last candle.
        made = await ctx.operator.make_report(ctx.settings, kind, period.first_day)
        return f"The {kind} report for {made.period.label} is ready (report {made.id})."

    return make


for kind in ("daily", "weekly"):
    action(
        Action(
            f"report-{kind}",
            f"Make {kind} report",
            f"Compute and store the {kind} report for the last finished "
            f"{'day' if kind == 'daily' else 'week'} now (the scheduler makes it too).",
            _maker(kind),
            "/panel/reports",
            danger=False,
        )
    )
