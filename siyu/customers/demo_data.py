"""Deterministic, realistic Chinese demo data for the demo enterprise (`siyu demo-seed`)."""

import datetime
import random
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from siyu.accounts.models import Corp, Employee
from siyu.accounts.services import corp_create, department_upsert, employee_upsert, user_create
from siyu.customers.models import Customer, CustomerTag, FollowRelation, TimelineEvent
from siyu.tags.models import Tag
from siyu.tags.services import tag_group_create

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖"
    "田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付"
    "方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN_CHARS = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬"
    "燕彬鹏辉建国建华志强晓明晓燕欣怡子涵梓萱浩然宇轩思远雨桐佳怡一诺诗"
    "涵梓轩俊杰嘉怡欣妍浩宇若汐梦瑶婷婷丹丹晨曦海峰文博雅琴慧敏佳琪"
)
WECHAT_NICKS = ("小鱼儿", "晴天", "Lucky", "木子", "阿杰", "向日葵", "Coco", "橙子",
                "小蜜蜂", "安然", "Echo", "豆豆", "星空", "Mia", "半夏", "暖阳", "Kiki",
                "糖果", "云淡风轻", "Leo")
CITIES = ("上海市 浦东新区", "上海市 徐汇区", "北京市 朝阳区", "北京市 海淀区", "广州市 天河区",
          "深圳市 南山区", "杭州市 西湖区", "南京市 鼓楼区", "苏州市 工业园区", "成都市 武侯区",
          "武汉市 江汉区", "重庆市 渝中区", "西安市 雁塔区", "长沙市 岳麓区", "宁波市 鄞州区",
          "厦门市 思明区", "天津市 和平区", "青岛市 市南区")
COMPANIES = ("", "", "", "华润万家", "腾飞科技有限公司", "新东方", "美的集团",
             "顺丰速运", "绿地集团", "上海电气", "海底捞", "中国平安", "安踏体育")
DEPARTMENTS = (  # (wecom_id, name, parent)
    (1, "星河零售", None), (2, "销售中心", 1), (3, "华东大区", 2), (4, "华南大区", 2),
    (5, "直播电商部", 2), (6, "客户服务部", 1), (7, "市场部", 1),
)
TAG_GROUPS = (
    ("客户等级", ("VIP", "高潜力", "普通", "沉睡")),
    ("兴趣偏好", ("护肤", "彩妆", "母婴", "数码", "美食", "运动")),
    ("来源渠道", ("直播间", "门店", "朋友推荐", "公众号", "小红书")),
    ("消费能力", ("高消费", "中等消费", "价格敏感")),
)
CHANNEL_STATES = ("live_1111", "live_0618", "store_sh01", "store_bj02", "poster_spring",
                  "mp_article", "")
ADD_WAYS = (1, 1, 1, 2, 3, 4, 8, 10)  # QR code, mobile search, card share, group, ... (WeCom codes)
REMARK_HINTS = ("老规矩少糖", "周末方便联系", "喜欢新品试用", "对价格敏感", "生日在春天",
                "", "", "")


@dataclass
class DemoLogin:
    username: str
    password: str
    role: str
    employee: str


DEMO_CORP_ID = "wwdemo000000000001"
# Callback settings the demo enterprise shares with the local WeCom simulator.
DEMO_CALLBACK = {"token": "siyudemotoken", "aes_key": "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR",
                 "secret": "demo-contact-secret"}
DEMO_PASSWORD = "siyu-demo-2026"  # noqa: S105 - printed for demo logins
# Random customer actions per second in the demo's WeCom simulator: a new customer every ~10 s.
DEMO_SIMULATOR_RATE = 0.2


def wire_to_simulator(port: int) -> None:
    """Point the demo enterprise's WeCom API at the local simulator that `siyu demo` starts."""
    Corp.objects.filter(corp_id=DEMO_CORP_ID).update(
        api_base_url=f"http://127.0.0.1:{port}/cgi-bin/")


def _person_name(rng: random.Random) -> str:
    given = rng.choice(GIVEN_CHARS) + (rng.choice(GIVEN_CHARS) if rng.random() < 0.7 else "")
    return rng.choice(SURNAMES) + given


def _phone(rng: random.Random) -> str:
    return rng.choice(("138", "139", "136", "150", "158", "186", "188", "177", "199")) + \
        f"{rng.randrange(10**8):08d}"


def seed_demo(*, corp_id=DEMO_CORP_ID, name="星河零售（演示）", customers=5000, employees=30,
              days=180, seed=2026, stdout=None) -> tuple[Corp, list[DemoLogin]]:
    rng = random.Random(seed)
    write = stdout.write if stdout else (lambda s: None)
    with transaction.atomic():
        corp = corp_create(corp_id=corp_id, name=name, **DEMO_CALLBACK)
        for wecom_id, dept_name, parent in DEPARTMENTS:
            department_upsert(corp=corp, wecom_id=wecom_id, name=dept_name,
                              parent_wecom_id=parent, order=wecom_id)
        staff_depts = (3, 3, 4, 4, 5, 5, 6)
        emps: list[Employee] = []
        used_names: set[str] = set()
        for i in range(employees):
            emp_name = _person_name(rng)
            while emp_name in used_names:
                emp_name = _person_name(rng)
            used_names.add(emp_name)
            dept = 2 if i == 0 else staff_depts[i % len(staff_depts)]
            emps.append(employee_upsert(
                corp=corp, userid=f"emp{i + 1:03d}", name=emp_name,
                department_wecom_ids=[dept], leader_wecom_ids=[dept] if i == 0 else [],
                mobile=_phone(rng), position="销售总监" if i == 0 else rng.choice(
                    ("销售顾问", "导购", "客户经理", "主播助理", "客服专员")),
                gender=rng.choice((1, 2)),
            ))
        resigned = emps[-1]
        resigned.status, resigned.resigned_at = Employee.Status.RESIGNED, timezone.now()
        resigned.save(update_fields=["status", "resigned_at"])
        logins = [
            DemoLogin("demo_admin", DEMO_PASSWORD, "admin", ""),
            DemoLogin("demo_manager", DEMO_PASSWORD, "manager", emps[0].userid),
            DemoLogin("demo_staff", DEMO_PASSWORD, "staff", emps[1].userid),
        ]
        for login in logins:
            user_create(corp=corp, username=login.username, password=login.password,
                        role=login.role, employee_userid=login.employee or None)
        for order, (group_name, tag_names) in enumerate(TAG_GROUPS):
            tag_group_create(corp=corp, actor=None, name=group_name, order=order,
                             tag_names=tag_names)
        tags = list(Tag.objects.for_corp(corp))
        write(f"Enterprise, {len(emps)} employees and {len(tags)} tags created; "
              f"adding {customers} customers…\n")
        _seed_customers(corp, [*emps[:-1], resigned], tags, customers, days, rng, write)
    return corp, logins


def _seed_customers(corp, emps, tags, count, days, rng, write):
    now = timezone.now()
    weights = [3 if i < 5 else 1 for i in range(len(emps))]
    batch = 1000
    for start in range(0, count, batch):
        size = min(batch, count - start)
        rows = []
        for i in range(start, start + size):
            gender = rng.choice((1, 2, 2, 0))
            name = rng.choice(WECHAT_NICKS) if rng.random() < 0.15 else _person_name(rng)
            birthday = (datetime.date(rng.randint(1965, 2004), rng.randint(1, 12),
                                      rng.randint(1, 28)) if rng.random() < 0.4 else None)
            rows.append(Customer(
                corp=corp, external_userid=f"wmDEMO{i:08d}", name=name, gender=gender,
                type=1 if rng.random() < 0.9 else 2,
                unionid=f"oDEMO{i:08d}" if rng.random() < 0.6 else "",
                phones=[_phone(rng)] if rng.random() < 0.7 else [],
                region=rng.choice(CITIES), company=rng.choice(COMPANIES), birthday=birthday,
                custom_fields={"会员等级": rng.choice(("银卡", "金卡", "钻石卡"))}
                if rng.random() < 0.3 else {},
            ))
        created = Customer.objects.bulk_create(rows)
        if created[0].pk is None:  # backends without RETURNING: reload the ids
            ids = dict(Customer.objects.for_corp(corp).filter(
                external_userid__in=[c.external_userid for c in rows])
                .values_list("external_userid", "pk"))
            for c in created:
                c.pk = ids[c.external_userid]
        follows, links, events = [], [], []
        for customer in created:
            owners = rng.choices(emps, weights=weights, k=2 if rng.random() < 0.12 else 1)
            for emp in dict.fromkeys(owners):
                added_at = now - datetime.timedelta(days=rng.random() * days)
                state = rng.choice(CHANNEL_STATES)
                deleted_by, deleted_at = "", None
                if rng.random() < 0.06:
                    deleted_by = rng.choice(("customer", "employee"))
                    deleted_at = min(now, added_at + datetime.timedelta(days=rng.random() * 30))
                follows.append(FollowRelation(
                    corp=corp, customer=customer, employee=emp, added_at=added_at, state=state,
                    add_way=rng.choice(ADD_WAYS), remark=rng.choice(REMARK_HINTS),
                    deleted_at=deleted_at, deleted_by=deleted_by,
                ))
                events.append(TimelineEvent(
                    corp=corp, customer=customer, kind=TimelineEvent.Kind.FOLLOW_ADDED,
                    occurred_at=added_at, employee=emp, summary=f"添加了员工 {emp.name}",
                    data={"state": state}))
                if deleted_at:
                    events.append(TimelineEvent(
                        corp=corp, customer=customer, kind=TimelineEvent.Kind.FOLLOW_DELETED,
                        occurred_at=deleted_at, employee=emp,
                        summary="客户删除了员工" if deleted_by == "customer" else "员工删除了客户",
                        data={"deleted_by": deleted_by}))
            for tag in rng.sample(tags, k=rng.choice((0, 1, 1, 2, 2, 3))):
                links.append(CustomerTag(corp=corp, customer=customer, tag=tag))
        FollowRelation.objects.bulk_create(follows)
        CustomerTag.objects.bulk_create(links)
        TimelineEvent.objects.bulk_create(events)
        write(f"  {start + size}/{count} customers\n")
