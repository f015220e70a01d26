"""Read an enterprise from Siyu's database as a population ``mirror`` (departments, members,
corp tags), so the simulator's events name employees and tags Siyu already has — the demo corp's
emp001..emp030."""

from collections import defaultdict

from siyu.accounts.models import Corp, Department, Employee
from siyu.customers.models import CustomerTag, FollowRelation
from siyu.tags.models import TagGroup


def mirror_of(corp: Corp) -> dict:
    departments = [
        {"id": d.wecom_id, "name": d.name, "parentid": d.parent.wecom_id if d.parent else 0,
         "order": d.order}
        for d in Department.objects.for_corp(corp).select_related("parent")]
    users = []
    for emp in Employee.objects.for_corp(corp).prefetch_related("departments").order_by("userid"):
        users.append({
            "userid": emp.userid, "name": emp.name, "position": emp.position,
            "mobile": emp.mobile, "gender": emp.gender,
            "department": [d.wecom_id for d in emp.departments.all()] or [1],
            "status": 1 if emp.is_active else 5})
    tag_groups = [
        {"group_id": g.wecom_group_id or None, "group_name": g.name,
         "tags": [{"id": t.wecom_tag_id or None, "name": t.name}
                  for t in g.tags.order_by("order", "id")]}
        for g in TagGroup.objects.for_corp(corp).order_by("order", "id").prefetch_related("tags")]
    return {"departments": departments or None, "users": users,
            "tag_groups": [g for g in tag_groups if g["tags"]] or None,
            "customers": _customers(corp)}


def _customers(corp: Corp) -> list[dict]:
    """Customers with a WeCom id and their current follow users (deleted ones left out)."""
    tags = defaultdict(list)
    for customer_id, name in CustomerTag.objects.for_corp(corp).values_list("customer_id",
                                                                            "tag__name"):
        tags[customer_id].append(name)
    customers: dict[int, dict] = {}
    follows = (FollowRelation.objects.for_corp(corp)
               .filter(deleted_at__isnull=True, customer__external_userid__isnull=False)
               .exclude(customer__external_userid="")
               .select_related("customer", "employee").order_by("customer_id", "id"))
    for follow in follows:
        c = follow.customer
        entry = customers.setdefault(c.id, {
            "external_userid": c.external_userid, "name": c.name, "avatar": c.avatar,
            "type": c.type, "gender": c.gender, "unionid": c.unionid,
            "corp_name": c.company, "follows": []})
        entry["follows"].append({
            "userid": follow.employee.userid, "createtime": int(follow.added_at.timestamp()),
            "state": follow.state, "add_way": follow.add_way, "remark": follow.remark[:20],
            "tags": tags[c.id]})
    return list(customers.values())
