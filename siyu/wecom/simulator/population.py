"""A deterministic population for one seed: departments, members, customers with follow users,
corp tags and customer groups with members. ``mirror`` replaces the generated organisation and
tag groups with an existing enterprise's (the demo corp), so events name employees Siyu knows."""

import random

from siyu.wecom.simulator.state import SimState

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超霞平刚桂华玉萍红玲芬燕彬鹏辉宇轩涵怡诺萱"
NICKS = ("小鱼儿", "晴天", "Lucky", "木子", "阿杰", "向日葵", "Coco", "橙子", "安然", "Echo")
COMPANIES = ("腾飞科技", "华润万家", "美的集团", "顺丰速运", "绿地集团")
DEPARTMENTS = ((1, "模拟企业", 0), (2, "销售部", 1), (3, "华东区", 2), (4, "华南区", 2),
               (5, "客户服务部", 1))
POSITIONS = ("销售顾问", "导购", "客户经理", "客服专员")
TAG_GROUPS = (("客户等级", ("VIP", "高潜力", "普通")),
              ("兴趣偏好", ("护肤", "彩妆", "数码", "运动")),
              ("来源渠道", ("直播间", "门店", "朋友推荐")))
ADD_WAYS = (1, 1, 1, 2, 3, 4, 8, 10)
GROUP_NAMES = ("会员福利群", "新品体验群", "VIP 专属群", "直播粉丝群", "门店老客群", "育儿交流群")
DAY = 86400


def person_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def mobile(rng: random.Random) -> str:
    return rng.choice(("138", "139", "150", "186", "188")) + f"{rng.randrange(10**8):08d}"


def generate(config, now: float, mirror: dict | None = None) -> SimState:
    rng = random.Random(config.seed)
    state = SimState(rng=random.Random(config.seed + 1))
    mirror = mirror or {}
    _organisation(state, config, rng, mirror)
    _tags(state, rng, now, mirror.get("tag_groups"))
    if mirror.get("customers") is not None:
        _mirrored_customers(state, mirror["customers"])
    else:
        _customers(state, config, rng, now)
    _chats(state, config, rng, now)
    return state


def _organisation(state, config, rng, mirror):
    for dept in mirror.get("departments") or [
            {"id": i, "name": n, "parentid": p, "order": i} for i, n, p in DEPARTMENTS]:
        state.departments[dept["id"]] = {"id": dept["id"], "name": dept["name"], "name_en": "",
                                         "department_leader": [], "parentid": dept["parentid"],
                                         "order": dept.get("order", 0)}
    users = mirror.get("users")
    if users is None:
        leaves = [d for d in state.departments if d != 1] or [1]
        users = [{"userid": config.userid_format.format(i + 1), "name": person_name(rng),
                  "department": [leaves[i % len(leaves)]], "position": rng.choice(POSITIONS),
                  "mobile": mobile(rng), "gender": rng.choice((1, 2)),
                  # The last member has resigned, so resigned-transfer APIs have work.
                  "status": 5 if i == config.employees - 1 and i > 0 else 1}
                 for i in range(config.employees)]
    for u in users:
        depts = u.get("department") or [1]
        state.users[u["userid"]] = {
            "userid": u["userid"], "name": u["name"], "department": depts,
            "order": [0] * len(depts), "position": u.get("position", ""),
            "mobile": u.get("mobile", ""), "gender": str(u.get("gender", 0)),
            "email": "", "is_leader_in_dept": [0] * len(depts), "direct_leader": [],
            "avatar": f"https://wework.qpic.cn/sim/{u['userid']}/0", "thumb_avatar": "",
            "telephone": "", "alias": "", "status": u.get("status", 1), "address": "",
            "open_userid": "", "main_department": depts[0], "extattr": {"attrs": []},
            "qr_code": f"https://open.work.weixin.qq.com/wwopen/userQRCode?vcode={u['userid']}",
            "external_position": "",
        }


def _tags(state, rng, now, mirror_groups):
    groups = mirror_groups or [{"group_name": g, "tags": list(t)} for g, t in TAG_GROUPS]
    for order, g in enumerate(groups):
        group_id = g.get("group_id") or state.new_id("et", 32)
        state.tag_groups[group_id] = {"group_id": group_id, "group_name": g["group_name"],
                                      "create_time": int(now - 400 * DAY), "order": order,
                                      "tag_ids": []}
        for tag_order, tag in enumerate(g["tags"]):
            # A mirrored tag may bring the WeCom id Siyu already knows it by.
            tag = tag if isinstance(tag, dict) else {"name": tag}
            tag_id = tag.get("id") or state.new_id("et", 32)
            state.tags[tag_id] = {"id": tag_id, "name": tag["name"], "group_id": group_id,
                                  "create_time": int(now - 400 * DAY), "order": tag_order}
            state.tag_groups[group_id]["tag_ids"].append(tag_id)


def new_customer(state, rng, *, name=None) -> dict:
    ext = state.new_id("wm", 32)
    is_wecom = rng.random() < 0.1
    contact = {"external_userid": ext,
               "name": name or (rng.choice(NICKS) if rng.random() < 0.2 else person_name(rng)),
               "avatar": f"https://wx.qlogo.cn/mmhead/{ext[-12:]}/0",
               "type": 2 if is_wecom else 1, "gender": rng.choice((0, 1, 2, 2)),
               "unionid": "o" + state.new_id("", 27) if rng.random() < 0.6 else ""}
    if is_wecom:
        contact.update(corp_name=rng.choice(COMPANIES), corp_full_name="", position="")
    state.customers[ext] = contact
    state.follows[ext] = {}
    return contact


def new_follow(*, userid, createtime, state="", add_way=1, remark="", tag_ids=()) -> dict:
    return {"userid": userid, "remark": remark, "description": "", "createtime": int(createtime),
            "tag_ids": list(tag_ids), "remark_corp_name": "", "remark_mobiles": [],
            "oper_userid": userid, "add_way": add_way, "state": state}


def _customers(state, config, rng, now):
    active = state.active_userids()
    resigned = [u for u in state.users if u not in active]
    owners = active + resigned if resigned else active
    tag_ids = list(state.tags)
    states = [s for s in config.states] or [""]
    for _ in range(config.customers if owners else 0):
        contact = new_customer(state, rng)
        for userid in dict.fromkeys(rng.choices(owners, k=2 if rng.random() < 0.15 else 1)):
            state.follows[contact["external_userid"]][userid] = new_follow(
                userid=userid, createtime=now - rng.random() * 180 * DAY,
                state=rng.choice(states), add_way=rng.choice(ADD_WAYS),
                tag_ids=rng.sample(tag_ids, k=min(len(tag_ids), rng.choice((0, 1, 1, 2)))))


def _mirrored_customers(state, customers):
    tag_ids = {}
    for tag_id, tag in state.tags.items():
        tag_ids.setdefault(tag["name"], tag_id)
    for c in customers:
        ext = c["external_userid"]
        state.customers[ext] = {k: c[k] for k in ("external_userid", "name", "avatar", "type",
                                                  "gender", "unionid")}
        if c["type"] == 2:
            state.customers[ext].update(corp_name=c.get("corp_name", ""), corp_full_name="",
                                        position="")
        state.follows[ext] = {
            f["userid"]: new_follow(userid=f["userid"], createtime=f["createtime"],
                                    state=f["state"], add_way=f["add_way"], remark=f["remark"],
                                    tag_ids=[tag_ids[n] for n in f["tags"] if n in tag_ids])
            for f in c["follows"] if f["userid"] in state.users}


def _chats(state, config, rng, now):
    active = state.active_userids()
    if not active:
        return
    for i in range(config.groups):
        owner = rng.choice(active)
        chat_id = state.new_id("wr", 32)
        created = int(now - rng.random() * 200 * DAY)
        members = [group_member(owner, 1, created, 1, owner)]
        for userid in rng.sample(active, k=min(len(active), rng.randint(0, 2))):
            if userid != owner:
                members.append(group_member(userid, 1, created, 1, owner))
        theirs = state.customers_of(owner)
        for ext in rng.sample(theirs, k=min(len(theirs), rng.randint(2, 15))):
            members.append(group_member(ext, 2, created + rng.randint(0, 90 * DAY),
                                   rng.choice((1, 2, 3)), owner,
                                   unionid=state.customers[ext]["unionid"]))
        for _ in range(rng.randint(0, 3)):  # people who are nobody's customer
            members.append(group_member(state.new_id("wm", 32), 2, created, 3, owner))
        state.chats[chat_id] = {
            "chat_id": chat_id, "name": f"{GROUP_NAMES[i % len(GROUP_NAMES)]}{i + 1}",
            "owner": owner, "create_time": created, "notice": "", "status": 0,
            "member_list": members, "admin_list": [],
        }


def group_member(userid, member_type, join_time, join_scene, invitor, unionid="") -> dict:
    member = {"userid": userid, "type": member_type, "join_time": int(join_time),
              "join_scene": join_scene, "invitor": {"userid": invitor},
              "group_nickname": "", "name": ""}
    if member_type == 2 and unionid:
        member["unionid"] = unionid
    return member
