"""What the page shows of an explain Trace: plain data, the explain text only on request
(rendering every grid of a trace as text costs more than computing it)."""

from ..explain import render_text


def check_dict(check):
    return {
        "what": check.what,
        "max_abs_error": check.max_abs_error,
        "tolerance": check.tolerance,
        "ok": check.ok,
        "line": check.line(),
    }


def trace_dict(trace, text=False):
    """Title, notes, steps (formula, result, operands), checks; with ``text`` also the text
    ``convscope explain`` prints for it."""
    answer = {
        "topic": trace.topic,
        "title": trace.title,
        "notes": trace.notes,
        "steps": [
            {
                "label": s.label,
                "formula": s.formula,
                "result": s.result,
                "operands": s.operands,
                "cell": s.cell,
                "section": s.section,
            }
            for s in trace.steps
        ],
        "checks": [check_dict(c) for c in trace.checks],
        "ok": trace.ok,
    }
    if text:
        answer["text"] = render_text(trace)
    return answer
