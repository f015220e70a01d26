"""The /sim/ inspection page: plain HTML, one table per area, refreshed every few seconds.
A developer tool of the simulator (not part of Siyu's console), so its text is not translated."""

import datetime
import json
from html import escape

STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5rem;color:#1f2933}
h1{font-size:1.3rem}h2{font-size:1.05rem;margin-top:1.6rem}
table{border-collapse:collapse;width:100%;margin:.4rem 0}
th,td{border:1px solid #d9dee3;padding:.25rem .45rem;text-align:left;vertical-align:top}
th{background:#f3f5f7}td.num{text-align:right}.muted{color:#6b7785}
.ok{color:#1b7f3b}.bad{color:#b42318}form{display:inline-block;margin:0 .4rem .4rem 0}
button{padding:.3rem .7rem}
"""


def _time(ts) -> str:
    if not ts:
        return ""
    return datetime.datetime.fromtimestamp(ts).strftime("%H:%M:%S")


def _table(headers, rows, empty="Nothing yet.") -> str:
    if not rows:
        return f'<p class="muted">{escape(empty)}</p>'
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>"
                   for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _button(action: str, label: str, **fields) -> str:
    hidden = "".join(f'<input type="hidden" name="{escape(k)}" value="{escape(str(v))}">'
                     for k, v in fields.items())
    return (f'<form method="post" action="/sim/actions/{escape(action)}">{hidden}'
            f'<input type="hidden" name="_html" value="1"><button>{escape(label)}</button></form>')


def _callback_rows(sim):
    rows = []
    for record in sim.sender.as_list(40):
        fields = record["fields"]
        who = " ".join(str(fields[k]) for k in ("UserID", "ExternalUserID", "ChatId", "Id",
                                                "State") if fields.get(k))
        last = record["attempts"][-1] if record["attempts"] else {}
        css = "ok" if record["status"] == "delivered" else (
            "bad" if record["status"] == "failed" else "muted")
        rows.append((record["id"], _time(record["created_at"]), escape(record["event"]),
                     escape(record["change_type"]), escape(who),
                     f'<span class="{css}">{escape(record["status"])}</span>',
                     len(record["attempts"]),
                     escape(str(last.get("http_status") or last.get("error") or ""))))
    return rows


def render(sim) -> str:
    st, config = sim.state, sim.config
    summary = sim.summary()
    calls = [(escape(api), data["total"],
              escape(", ".join(f"{k}: {v}" for k, v in data["errcodes"].items())))
             for api, data in sim.calls.as_dict()["per_api"].items()]
    welcomes = [(_time(w["sent_at"]), escape(w["userid"]), escape(w["external_userid"]),
                 escape(w["state"]), f'{w["delay_s"]:.2f} s', escape(w["text"][:80]),
                 len(w["attachments"])) for w in reversed(st.welcome_messages[-30:])]
    marks = [(_time(m["at"]), escape(m["userid"]), escape(m["external_userid"]),
              escape(", ".join(st.tags[t]["name"] if t in st.tags else t for t in m["add_tag"])),
              escape(", ".join(st.tags[t]["name"] if t in st.tags else t
                               for t in m["remove_tag"])))
             for m in reversed(st.tag_marks[-30:])]
    ways = [(escape(w["config_id"]), w["type"], w["scene"], escape(w.get("state", "")),
             escape(", ".join(w.get("user") or [])),
             f'<a href="/sim/ways/{escape(w["config_id"])}">QR code</a>')
            for w in list(st.contact_ways.values())[-30:]]
    masses = [(escape(m["msgid"]), escape(m["chat_type"]), escape(m["creator"]),
               _time(m["create_time"]), sum(1 for r in m["recipients"] if r["status"] == 1),
               sum(1 for r in m["recipients"] if r["status"] == 0), len(m["fail_list"]),
               escape(m["text"]["content"][:60]))
              for m in list(st.msg_templates.values())[-20:]]
    faults = [(escape(r["api"]), r["errcode"] if r["errcode"] is not None else "timeout",
               r["count"] if r["count"] is not None else "", r["probability"] or "")
              for r in sim.faults.rules]
    toggle = "none" if config.actions == "random" else "random"
    toggle_label = "Random actions: turn off" if toggle == "none" else "Random actions: turn on"
    population = ", ".join(f"{k}: {v}" for k, v in summary["population"].items())
    return f"""<!doctype html><html><head><meta charset="utf-8">
<meta http-equiv="refresh" content="3"><title>WeCom simulator</title><style>{STYLE}</style>
</head><body>
<h1>WeCom simulator — {escape(config.corp_id)}</h1>
<p>Callbacks go to <code>{escape(config.callback_url or "(nowhere: recorded only)")}</code>.
Clock offset {sim.clock.offset:.0f} s. Random actions: <b>{escape(config.actions)}</b>
({config.rate}/s). Latency {config.latency_ms} ms. Population: {escape(population)}.</p>
<div>{_button("add_customer", "New customer adds a member")}
{_button("join_group", "A customer joins a group")}
{_button("quit_group", "A customer leaves a group")}
{_button("edit_customer", "A member tags a customer")}
{_button("customer_deletes_employee", "A customer deletes a member")}
{_button("edit_tags", "An admin adds a corp tag")}
<form method="post" action="/sim/config"><input type="hidden" name="actions" value="{toggle}">
<input type="hidden" name="_html" value="1"><button>{toggle_label}</button></form>
</div>
<h2>Callbacks sent ({escape(json.dumps(summary["callbacks"]))})</h2>
{_table(("#", "time", "event", "change", "who", "status", "attempts", "last answer"),
        _callback_rows(sim))}
<h2>Welcome messages received</h2>
{_table(("sent", "member", "customer", "state", "after the event", "text", "attachments"),
        welcomes)}
<h2>Tag marks received</h2>
{_table(("time", "member", "customer", "added", "removed"), marks)}
<h2>Contact ways</h2>
{_table(("config_id", "type", "scene", "state", "members", ""), ways)}
<h2>Mass messages</h2>
{_table(("msgid", "type", "sender", "created", "sent", "pending", "failed", "text"), masses)}
<h2>API calls</h2>
{_table(("API", "calls", "errcodes"), calls)}
<h2>Injected faults</h2>
{_table(("API", "errcode", "calls left", "probability"), faults, "No faults injected.")}
<p class="muted">JSON: <a href="/sim/state">state</a> · <a href="/sim/calls">calls</a> ·
<a href="/sim/callbacks">callbacks</a> · <a href="/sim/welcome-messages">welcome messages</a> ·
<a href="/sim/tag-marks">tag marks</a> · <a href="/sim/contact-ways">contact ways</a> ·
<a href="/sim/templates">templates</a> · <a href="/sim/population">population</a></p>
</body></html>"""


def render_way(sim, config_id: str) -> str:
    """A contact or join way with its QR code image and a button that scans it."""
    way = sim.state.contact_ways.get(config_id) or sim.state.join_ways.get(config_id)
    if way is None:
        body = "<p>No contact way with that config_id.</p>"
    else:
        if config_id in sim.state.contact_ways:
            what = (f"<p>Contact way <code>{escape(config_id)}</code>, state "
                    f"<code>{escape(way.get('state', ''))}</code>, members "
                    f"{escape(', '.join(way.get('user') or []))}.</p>")
            label = "Scan as a new customer"
        else:
            what = f"<p>Group join way <code>{escape(config_id)}</code>.</p>"
            label = "Scan and join the group"
        body = (what + f'<p><img src="/sim/qr/{escape(config_id)}" alt="QR code" width="240" '
                f'height="240"></p><form method="get" action="/sim/scan/{escape(config_id)}">'
                f"<button>{escape(label)}</button></form>")
    return (f'<!doctype html><html><head><meta charset="utf-8"><title>QR code</title>'
            f"<style>{STYLE}</style></head><body><h1>Simulated QR code</h1>{body}"
            f'<p><a href="/sim/">Back to the simulator</a></p></body></html>')


def render_scan(sim, config_id: str, result: dict | None, error: str) -> str:
    """What the phone shows after scanning: who was added (or joined), or why not."""
    if result is None:
        body = f'<p class="bad">{escape(error)}</p>'
    elif result.get("kind") == "contact_way":
        body = (f'<p class="ok">Customer <code>{escape(result["external_userid"])}</code> '
                f'added <code>{escape(result["userid"])}</code> (state '
                f'<code>{escape(result.get("state") or "")}</code>).</p>')
    else:
        chat_id = escape(str(result.get("chat_id", "")))
        body = f'<p class="ok">Joined group <code>{chat_id}</code>.</p>'
    return (f'<!doctype html><html><head><meta charset="utf-8"><title>Scanned</title>'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<style>{STYLE}</style></head><body><h1>Scanned {escape(config_id)}</h1>{body}"
            f'<p><a href="/sim/ways/{escape(config_id)}">Scan again</a> · '
            f'<a href="/sim/">Back to the simulator</a></p></body></html>')
