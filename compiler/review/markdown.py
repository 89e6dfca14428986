"""Markdown output of `knobless diff`, sized for a pull-request comment.

The summary comes first (a table a reviewer reads in ten seconds), then one collapsible
`<details>` per endpoint. GitHub rejects comments over 65,536 characters, so the output stops
adding details before `MAX_CHARS` and says how many were left out.
"""

from __future__ import annotations

from collections.abc import Sequence

from compiler.review.diff import ObjectChange
from compiler.review.summary import EndpointSummary, EnvironmentSummary, Review
from compiler.review.text import (
    MARKERS,
    capacity_text,
    concurrency_text,
    endpoint_worst_case,
    field_line,
    gpus_text,
    header,
    object_title,
    restart_text,
    traffic_text,
)

MAX_CHARS = 60_000
MARKER = "<!-- knobless-diff -->"
"""First line of the comment: lets a CI step find and update its own previous comment."""


def _cell(text: str | None) -> str:
    if not text:
        return "—"
    return text.replace("|", "\\|").replace("\n", " ").replace("->", "→")


def _fence(lines: list[str]) -> str:
    body = "\n".join(lines)
    fence = "```"
    while fence in body:
        fence += "`"
    return f"{fence}diff\n{body}\n{fence}"


def _object_block(objects: tuple[ObjectChange, ...], endpoint: EndpointSummary | None) -> str:
    lines: list[str] = []
    for change in objects:
        lines.append(object_title(change, endpoint))
        lines.extend(f"    {field_line(f)}" for f in change.fields)
    return _fence(lines)


def _rows(changed: Sequence[EnvironmentSummary], budget: int) -> list[str]:
    """The table's rows, one per endpoint and platform, as many as fit in `budget` characters."""
    rows: list[str] = []
    used = 0
    for env in changed:
        for endpoint in env.endpoints:
            if used > budget:
                break
            cells = [
                env.name,
                f"{MARKERS[endpoint.status]} `{endpoint.name}`",
                _cell(restart_text(endpoint)),
                _cell(traffic_text(endpoint)),
                _cell(concurrency_text(endpoint)),
                _cell(gpus_text(endpoint)),
                _cell(endpoint_worst_case(endpoint)),
            ]
            rows.append("| " + " | ".join(cells) + " |")
            used += len(rows[-1]) + 1
        if env.platform and used <= budget:
            rows.append(
                f"| {env.name} | platform | — | — | — | — | {len(env.platform)} object(s) |"
            )
    return rows


def _summary(review: Review, budget: int) -> list[str]:
    changed = review.changed_environments
    title = header(review).removeprefix("knobless diff: ")
    lines = [MARKER, f"### knobless diff: `{title}`", ""]
    if not changed:
        lines.append("No changes: the rendered output is identical.")
        return lines
    count = sum(len(e.endpoints) for e in changed)
    restarts = sum(1 for e in changed for p in e.endpoints if p.restarts)
    lines.append(
        f"**{count} endpoint change(s) in {len(changed)} environment(s)**, "
        f"pods restart in {restarts}."
    )
    lines += [
        "",
        "| env | endpoint | pods | traffic | concurrency | GPUs/replica | worst case at max |",
        "|---|---|---|---|---|---|---|",
    ]
    total_rows = sum(len(e.endpoints) + bool(e.platform) for e in changed)
    rows = _rows(changed, budget - sum(len(line) + 1 for line in lines))
    lines += rows
    if len(rows) < total_rows:
        lines.append(
            f"| … | {total_rows - len(rows)} more row(s) cut (comment size limit) | | | | | |"
        )
    lines += ["", "| env | worst case at max concurrency (whole environment) |", "|---|---|"]
    for env in changed:
        status = "" if env.status == "changed" else f" ({env.status})"
        lines.append(
            f"| {env.name}{status} | {_cell(capacity_text(env.worst_before, env.worst_after))} |"
        )
    return lines


def _details(review: Review) -> list[str]:
    blocks = []
    for env in review.changed_environments:
        for endpoint in env.endpoints:
            blocks.append(
                f"<details><summary><code>{env.name}/{endpoint.name}</code>: "
                f"{len(endpoint.objects)} object(s) {endpoint.status}</summary>\n\n"
                f"{_object_block(endpoint.objects, endpoint)}\n\n</details>"
            )
        if env.platform:
            blocks.append(
                f"<details><summary><code>{env.name}/platform</code>: "
                f"{len(env.platform)} object(s)</summary>\n\n"
                f"{_object_block(env.platform, None)}\n\n</details>"
            )
    return blocks


def render_markdown(review: Review, *, max_chars: int = MAX_CHARS) -> str:
    # The summary table may take most of the comment; the rest is for details.
    text = "\n".join(_summary(review, budget=max_chars * 3 // 4)) + "\n"
    blocks = _details(review)
    if blocks:
        text += "\n"
    for index, block in enumerate(blocks):
        note = (
            f"\n> **Cut:** {len(blocks) - index} more section(s) not shown (comment size limit). "
            f"Run `knobless diff --base {review.base}` locally for the full diff.\n"
        )
        if len(text) + len(block) + 1 + len(note) > max_chars:
            return text + note
        text += block + "\n"
    return text
