"""What a page of batch/get_by_user changes here: a snapshot of the page's customers, follow
relations and tags before and after the upserts gives the created/updated/deleted counts, and
the same snapshot lets a page item that matches what is stored skip the upsert service (a
repeated sync then costs a few queries per page instead of a dozen per customer).

The skip is conservative: any field WeCom reports that differs from the stored value, a missing
or ended relationship, or a reported corp tag not linked here sends the item to the service.
"""

from siyu.customers.models import Customer, CustomerTag, FollowRelation
from siyu.tags.models import Tag

CUSTOMER_FIELDS = ("name", "avatar", "type", "gender", "unionid", "company")
FOLLOW_FIELDS = ("remark", "description", "state", "add_way", "remark_mobiles")
TEXT_LIMITS = {"remark": 64, "description": 255, "state": 30}


def snapshot(corp, external_ids: list[str]) -> dict:
    customers = {
        row["external_userid"]: row for row in Customer.objects.for_corp(corp)
        .filter(external_userid__in=external_ids)
        .values("external_userid", "merged_into_id", *CUSTOMER_FIELDS)
    }
    follows = {
        (row["customer__external_userid"], row["employee__userid"]): row
        for row in FollowRelation.objects.for_corp(corp)
        .filter(customer__external_userid__in=external_ids, deleted_at__isnull=True)
        .values("customer__external_userid", "customer__name", "employee__userid",
                "employee__name", "wecom_tag_ids", "wecom_added_time", *FOLLOW_FIELDS)
    }
    tags = {
        (row["customer__external_userid"], row["tag_id"]): row
        for row in CustomerTag.objects.for_corp(corp)
        .filter(customer__external_userid__in=external_ids)
        .values("customer__external_userid", "customer__name", "tag_id", "tag__name",
                "tag__wecom_tag_id")
    }
    return {"customers": customers, "follows": follows, "customer_tags": tags}


def known_tag_ids(corp, items: list[dict]) -> set[str]:
    """The WeCom tag ids of this page that a local tag carries."""
    wanted = {str(t) for item in items for t in (item.get("follow_info") or {}).get("tag_id")
              or []}
    if not wanted:
        return set()
    return set(Tag.objects.for_corp(corp).filter(wecom_tag_id__in=sorted(wanted))
               .values_list("wecom_tag_id", flat=True))


def _profile_differs(contact: dict, stored: dict) -> bool:
    name = str(contact.get("name") or "").strip()[:64]
    avatar = str(contact.get("avatar") or "")
    unionid = str(contact.get("unionid") or "")[:64]
    company = str(contact.get("corp_name") or "").strip()[:100]
    return any((
        stored["merged_into_id"] is not None,
        bool(name) and name != stored["name"],
        avatar.startswith(("http://", "https://")) and avatar != stored["avatar"],
        contact.get("type") in (0, 1, 2) and contact["type"] != stored["type"],
        contact.get("gender") in (0, 1, 2) and contact["gender"] != stored["gender"],
        bool(unionid) and unionid != stored["unionid"],
        bool(company) and not stored["company"],
    ))


def _follow_differs(follow: dict, stored: dict) -> bool:
    for field, limit in TEXT_LIMITS.items():
        if field in follow and str(follow[field] or "")[:limit] != stored[field]:
            return True
    if "remark_mobiles" in follow and [str(m) for m in follow["remark_mobiles"] or []] != (
            stored["remark_mobiles"] or []):
        return True
    if "add_way" in follow and int(follow["add_way"] or 0) != stored["add_way"]:
        return True
    created = int(follow.get("createtime") or 0)
    return bool(created) and created > (stored["wecom_added_time"] or 0)


def is_unchanged(item: dict, before: dict, tags_known: set[str]) -> bool:
    contact, follow = item["external_contact"], item.get("follow_info") or {}
    ext = contact.get("external_userid")
    stored = before["customers"].get(ext)
    relation = before["follows"].get((ext, follow.get("userid")))
    if stored is None or relation is None or _profile_differs(contact, stored):
        return False
    if _follow_differs(follow, relation):
        return False
    tag_ids = sorted({str(t) for t in follow.get("tag_id") or []})
    if tag_ids != sorted(relation["wecom_tag_ids"] or []):
        return False
    linked = {row["tag__wecom_tag_id"] for (e, _tag), row in before["customer_tags"].items()
              if e == ext}
    return (set(tag_ids) & tags_known) <= linked


def record_changes(ctx, before: dict, after: dict) -> None:
    for key, row in after["customers"].items():
        old = before["customers"].get(key)
        if old is None:
            ctx.count("customers", "created", row["name"])
        elif _visible(old, CUSTOMER_FIELDS) != _visible(row, CUSTOMER_FIELDS):
            ctx.count("customers", "updated", row["name"])
    for key, row in after["follows"].items():
        old = before["follows"].get(key)
        label = f"{row['customer__name']} ↔ {row['employee__name']}"
        if old is None:
            ctx.count("follows", "created", label)
        elif _visible(old, FOLLOW_FIELDS) != _visible(row, FOLLOW_FIELDS):
            ctx.count("follows", "updated", label)
    for key, row in before["follows"].items():
        if key not in after["follows"]:
            ctx.count("follows", "deleted", f"{row['customer__name']} ↔ {row['employee__name']}")
    for key, row in after["customer_tags"].items():
        if key not in before["customer_tags"]:
            ctx.count("customer_tags", "created", f"{row['customer__name']}: {row['tag__name']}")
    for key, row in before["customer_tags"].items():
        if key not in after["customer_tags"]:
            ctx.count("customer_tags", "deleted", f"{row['customer__name']}: {row['tag__name']}")


def _visible(row: dict, fields) -> tuple:
    return tuple(row[f] for f in fields)
