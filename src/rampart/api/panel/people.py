"""The People page: the investor funnel, active investors and churn, week 1 → week 4
retention, weekly cohorts, satisfaction, and the support tickets with their SLA clocks; an
admin answers a ticket here (the first answer stops its clock; the facade tells the investor
through the bot). Counts only, except the
tickets, which an operator needs to answer: their account and text are shown to operator
sessions and nobody else."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from rampart.api.panel.web import Who, check_action, ctx_of, form, redirect, render
from rampart.domain.errors import RampartError
from rampart.observability.people_metrics import cohort_label
from rampart.operator.names import DEFAULT_SLA_MS

router = APIRouter(include_in_schema=False)
SHOWN = 50


def _sla(ctx: Any) -> dict[str, int]:
    people = getattr(ctx.settings, "people", None)
    return people.sla_ms() if people is not None else dict(DEFAULT_SLA_MS)


async def _reads(ctx: Any) -> dict[str, Any]:
    operator = ctx.operator
    now = ctx.business.now_ms()
    sla = _sla(ctx)
    tickets = (await operator.tickets("open", SHOWN))[::-1] + await operator.tickets("answered", 10)
    return {
        "p": await operator.people(),
        "now": now,
        "tickets": [
            {
                "t": t,
                "age_h": t.age_ms(now) / 3_600_000,
                "overdue": t.overdue(now, sla),
                "sla_h": sla[t.priority] / 3_600_000,
            }
            for t in tickets
        ],
    }


@router.get("/panel/people")
async def people(request: Request, who: Who) -> Response:
    if not who.reads_all:
        return render(request, "missing.html", who, status=403, what=None)
    found = await _reads(ctx_of(request))
    return render(request, "people.html", who, week=cohort_label, **found)


@router.get("/panel/people/tickets/{ticket_id}")
async def answer_page(request: Request, ticket_id: int, who: Who) -> Response:
    if not who.admin:
        return render(request, "missing.html", who, status=403, what=None)
    ticket = await ctx_of(request).operator.ticket(ticket_id)
    if ticket is None:
        return render(request, "missing.html", who, status=404, what=f"ticket #{ticket_id}")
    return render(request, "people_answer.html", who, t=ticket, error=None, text="")


@router.post("/panel/people/tickets/{ticket_id}")
async def answer(request: Request, ticket_id: int, who: Who) -> Response:
    fields = await form(request)
    refused = check_action(who, fields.get("csrf"))
    if refused is not None:
        return refused
    ctx = ctx_of(request)
    text = fields.get("answer", "")
    try:
        ticket = await ctx.operator.answer_ticket(ticket_id, who.actor, text)
    except RampartError as exc:
        found = await ctx.operator.ticket(ticket_id)
        if found is None:
            return render(request, "missing.html", who, status=404, what=f"ticket #{ticket_id}")
        return render(
            request, "people_answer.html", who, status=400, t=found, error=exc.message, text=text
        )
    # The facade tells the investor (a notice through the bot's outbox) when there is a bot.
    told = (
        "; the investor gets it as a notice in Telegram"
        if ctx.operator.investor_notices is not None
        else "; no bot runs here, so tell the investor yourself"
    )
    who.flash.append(("status", f"Ticket #{ticket.id} answered by {who.actor}{told}."))
    return redirect("/panel/people")
