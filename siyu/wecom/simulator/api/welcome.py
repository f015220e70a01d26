"""Welcome messages (within 20 s of the add event, once) and group welcome templates."""

from siyu.wecom.simulator.api.registry import check_attachments, route
from siyu.wecom.simulator.errors import ApiError

CONTACT = ("contact",)
MAX_TEXT_BYTES = 4000
MAX_TEMPLATES = 100
TEMPLATE_PARTS = ("text", "image", "link", "miniprogram", "file", "video")


def check_text(text) -> str:
    if text is None:
        return ""
    if not isinstance(text, dict):
        raise ApiError(40058, "text must be an object with content")
    content = str(text.get("content") or "")
    if len(content.encode()) > MAX_TEXT_BYTES:
        raise ApiError(45002, f"text.content is at most {MAX_TEXT_BYTES} bytes")
    return content


@route("externalcontact/send_welcome_msg", kinds=CONTACT)
def send_welcome_msg(sim, req):
    code = req.arg("welcome_code")
    if not code:
        raise ApiError(41049)
    content = check_text(req.arg("text"))
    attachments = check_attachments(req.arg("attachments"))
    if not content and not attachments:
        raise ApiError(44004, "text or attachments required")
    issued = sim.state.welcome_codes.get(code)
    if issued is None:
        raise ApiError(41050, code)
    age = req.now - issued["issued_at"]
    if issued["used_at"] is not None or age > sim.config.welcome_code_ttl:
        issued["rejected"] = issued.get("rejected", 0) + 1
        raise ApiError(41051, "already used" if issued["used_at"] is not None
                       else f"issued {age:.1f}s ago")
    issued["used_at"] = req.now
    sim.state.welcome_messages.append({
        "welcome_code": code, "userid": issued["userid"],
        "external_userid": issued["external_userid"], "state": issued["state"],
        "text": content, "attachments": attachments, "event_at": issued["issued_at"],
        "sent_at": req.now, "delay_s": round(age, 3),
    })
    return {}


def _template_parts(req) -> dict:
    parts = {k: req.body[k] for k in TEMPLATE_PARTS if k in req.body}
    check_text(parts.get("text"))
    media = [k for k in parts if k != "text"]
    if len(media) > 1:
        raise ApiError(40058, "a template holds text and at most one of image, link, "
                              "miniprogram, file, video")
    return parts


def _template_or_error(sim, template_id) -> dict:
    template = sim.state.group_welcome_templates.get(template_id)
    if template is None:
        raise ApiError(40058, f"template_id {template_id} not found")
    return template


@route("externalcontact/group_welcome_template/add", kinds=CONTACT)
def template_add(sim, req):
    templates = sim.state.group_welcome_templates
    if len(templates) >= MAX_TEMPLATES:
        raise ApiError(41055)
    parts = _template_parts(req)
    if not parts:
        raise ApiError(44004, "text or a media part required")
    template_id = sim.state.new_id("msg", 32)
    templates[template_id] = {"template_id": template_id, **parts,
                              "notify": req.int_arg("notify", 1), "created_at": req.now}
    return {"template_id": template_id}


@route("externalcontact/group_welcome_template/edit", kinds=CONTACT)
def template_edit(sim, req):
    template = _template_or_error(sim, req.arg("template_id"))
    parts = _template_parts(req)
    for key in TEMPLATE_PARTS:
        template.pop(key, None)
    template.update(parts)
    return {}


@route("externalcontact/group_welcome_template/get", kinds=CONTACT)
def template_get(sim, req):
    template = _template_or_error(sim, req.arg("template_id"))
    return {k: template[k] for k in TEMPLATE_PARTS if k in template}


@route("externalcontact/group_welcome_template/del", kinds=CONTACT)
def template_del(sim, req):
    template = _template_or_error(sim, req.arg("template_id"))
    del sim.state.group_welcome_templates[template["template_id"]]
    return {}
