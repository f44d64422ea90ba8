"""Demo customers for `custapp seed-demo --customers N` and the benchmarks: realistic, valid,
deterministic for a seed, and fast enough for a million.

Every sensitive value goes through the production path (a data key per customer wrapped by the
master ring, `customer_fields.write` for ciphertext and blind index). What is not the production
path is only the bookkeeping around it, for speed: data keys and rows are inserted 1,000 per
transaction as plain dicts, and `customer_fields.write` fills an attribute bag rather than a
Customer instance (building a SQLModel instance costs about 200 µs, more than encrypting it).

Numbers follow SPEC §8: the year of the creation date in the configured zone and a per-year
sequence. The sequences are reserved up front in one transaction, so customers created while a
seed runs never collide with it.

Each customer also gets two years of activity (custapp/demo/activity.py: orders and service-log
entries) and the classification those orders imply; the ABC value classes are computed once at the
end.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from types import SimpleNamespace

from sqlalchemy import func, select, text, update
from sqlmodel import Session

from custapp import clock
from custapp.demo import activity as demo_activity
from custapp.models import (
    Customer,
    CustomerContact,
    CustomerSequence,
    CustomerTag,
    DataKey,
    Store,
    User,
    UserRole,
    UserStore,
)
from custapp.security import crypto, keystore
from custapp.security.keys import get_keys
from custapp.security.permissions import CS_MANAGER, FRONT_DESK
from custapp.security.validators import make_cn_id, make_uscc
from custapp.services import audit, customer_fields, datakeys
from custapp.services.actor import system_actor
from custapp.services.customers import CONTACT_PHONE_CONTEXT, allocate_number, completeness
from custapp.services.errors import DomainError

BATCH = 1000
MAX_CUSTOMERS = 10_000_000  # the index permutations below stay collision-free up to here

# (GB/T 2260 code, city, district)
REGIONS = (
    ("110101", "北京市", "东城区"),
    ("110105", "北京市", "朝阳区"),
    ("110108", "北京市", "海淀区"),
    ("120101", "天津市", "和平区"),
    ("310104", "上海市", "徐汇区"),
    ("310115", "上海市", "浦东新区"),
    ("320102", "南京市", "玄武区"),
    ("330106", "杭州市", "西湖区"),
    ("350203", "厦门市", "思明区"),
    ("370202", "青岛市", "市南区"),
    ("420106", "武汉市", "武昌区"),
    ("430104", "长沙市", "岳麓区"),
    ("440106", "广州市", "天河区"),
    ("440305", "深圳市", "南山区"),
    ("500103", "重庆市", "渝中区"),
    ("510107", "成都市", "武侯区"),
    ("610113", "西安市", "雁塔区"),
    ("210102", "沈阳市", "和平区"),
)
SURNAMES = (
    ("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"),
    ("杨", "yang"), ("黄", "huang"), ("赵", "zhao"), ("吴", "wu"), ("周", "zhou"),
    ("徐", "xu"), ("孙", "sun"), ("马", "ma"), ("朱", "zhu"), ("胡", "hu"),
    ("郭", "guo"), ("何", "he"), ("高", "gao"), ("林", "lin"), ("罗", "luo"),
    ("郑", "zheng"), ("梁", "liang"), ("谢", "xie"), ("宋", "song"), ("唐", "tang"),
    ("韩", "han"), ("冯", "feng"), ("邓", "deng"), ("曹", "cao"), ("彭", "peng"),
    ("曾", "zeng"), ("肖", "xiao"), ("田", "tian"), ("董", "dong"), ("袁", "yuan"),
    ("潘", "pan"), ("蒋", "jiang"), ("蔡", "cai"), ("欧阳", "ouyang"), ("诸葛", "zhuge"),
)  # fmt: skip
GIVEN_MALE = "伟强磊军洋勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆旭宁龙峰建国志文博成"
GIVEN_FEMALE = "芳娜敏静丽艳娟霞秀玲英慧婷雪琳颖倩晶欣怡佳梦雨璐琪萍红燕兰月洁"
ROADS = (
    "建国路", "人民路", "中山路", "解放路", "长安街", "南京路", "淮海中路", "天府大道",
    "文三路", "科技园路", "滨江大道", "学院路", "和平路", "新华路", "光明街", "金融街",
)  # fmt: skip
EMAIL_DOMAINS = ("163.com", "126.com", "qq.com", "sina.com", "outlook.com", "gmail.com")
EMPLOYERS = (
    "中国工商银行", "国家电网", "华为技术有限公司", "阿里巴巴（中国）有限公司", "市第一人民医院",
    "实验中学", "中国移动", "万科企业股份有限公司", "顺丰速运", "个体经营", "自由职业",
)  # fmt: skip
OCCUPATIONS = (
    "教师", "医生", "工程师", "会计", "销售经理", "公务员", "律师", "设计师",
    "程序员", "护士", "个体工商户", "厨师", "司机", "行政", "研究员",
)  # fmt: skip
NOTES = (
    "喜欢靠窗的位置", "偏好电话联系，工作日晚上方便", "每月初来店", "常带家人一起来",
    "对价格敏感，关注优惠活动", "需要开具增值税发票", "不吃辣",
)  # fmt: skip
INCOMES = ("5万以下/年", "5-10万/年", "10-20万/年", "20-50万/年", "50万以上/年")
BRANDS = (
    ("恒达", "hengda"), ("华信", "huaxin"), ("鼎盛", "dingsheng"), ("博远", "boyuan"),
    ("金桥", "jinqiao"), ("新源", "xinyuan"), ("瑞丰", "ruifeng"), ("海纳", "haina"),
    ("天合", "tianhe"), ("中联", "zhonglian"), ("泰和", "taihe"), ("宏图", "hongtu"),
)  # fmt: skip
INDUSTRIES = (
    "科技", "贸易", "餐饮管理", "建筑工程", "文化传媒", "物流", "医疗器械", "食品", "教育咨询",
)  # fmt: skip
BUREAUS = ("文化和旅游局", "教育局", "市场监督管理局", "卫生健康委员会", "人力资源和社会保障局")
INSTITUTIONS = ("第一人民医院", "第三中学", "图书馆", "疾病预防控制中心", "职业技术学院")
CONTACT_TITLES = ("总经理", "行政主管", "采购经理", "办公室主任", "财务经理", "市场部经理")
SIZES = ("50人以下", "50-299人", "300-999人", "1000人以上")
# individual tags and how often each occurs; organisations get 商务 (and sometimes 团购)
TAG_ODDS = (
    ("熟客推荐", 0.25),
    ("商务", 0.05),
    ("家庭", 0.2),
    ("素食", 0.06),
    ("过敏", 0.05),
    ("会员意向", 0.1),
    ("生日提醒", 0.1),
    ("团购", 0.04),
)
ORG_NATURES = (
    ("enterprise", 60),
    ("government", 10),
    ("public_institution", 12),
    ("partner", 10),
    ("supplier", 8),
)
CHANNELS = (
    ("walk_in", 35),
    ("phone", 20),
    ("referral", 15),
    ("online", 15),
    ("event", 10),
    ("partner", 3),
    ("other", 2),
)
MOBILE_PREFIXES = tuple(
    [f"13{d}" for d in range(10)]
    + ["150", "151", "152", "153", "155", "156", "157", "158", "159"]
    + [f"18{d}" for d in range(10)]
    + ["166", "177", "199"]
)
# registration-authority + category code of a USCC by nature (GB 32100)
USCC_PREFIX = {"government": "11", "public_institution": "12"}

_BIRTH_FIRST, _BIRTH_LAST = date(1950, 1, 1), date(2005, 12, 31)
_BIRTH_DAYS = (_BIRTH_LAST - _BIRTH_FIRST).days + 1
_ID_SPACE = _BIRTH_DAYS * len(REGIONS) * 500  # birth day x region x sequence / 2 (gender)
_PHONE_SPACE = 10**8  # the 8 digits after the prefix
_USCC_SPACE = 31**9  # the 9-character organisation code
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
# Slots of the phone permutation: main phones use i, second phones and contacts their own range.
_PHONE2_SLOT, _CONTACT_SLOT = 30_000_000, 60_000_000


def _name_birth_index(name: str, birth_date: date) -> str:
    """The duplicate-candidate index of name + birth date, as customers._apply computes it."""
    return customer_fields.blind_index("generic", f"{name}|{birth_date.isoformat()}")


def _permute(i: int, space: int, a: int, b: int) -> int:
    """A bijection of 0..space-1 that looks random: unique values without remembering them."""
    if math.gcd(a, space) != 1:
        raise ValueError("multiplier must be coprime with the space")
    return (a * i + b) % space


@dataclass
class _Staff:
    owners: list[tuple[int, list[int]]]  # (user id, store ids)
    store_ids: list[int]


def _staff(session: Session) -> _Staff:
    rows = session.exec(
        select(User.id)
        .join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role.in_((FRONT_DESK, CS_MANAGER)), User.is_active.is_(True))
        .distinct()
        .order_by(User.id)
    ).all()
    stores: dict[int, list[int]] = {row[0]: [] for row in rows}
    for user_id, store_id in session.exec(
        select(UserStore.user_id, UserStore.store_id).order_by(UserStore.store_id)
    ).all():
        if user_id in stores:
            stores[user_id].append(store_id)
    store_ids = list(
        session.exec(select(Store.id).where(Store.is_active.is_(True)).order_by(Store.id)).scalars()
    )
    return _Staff(owners=list(stores.items()), store_ids=store_ids)


class _Timeline:
    """Creation times spread evenly over the past `years` years, 09:00-21:00 local, in order."""

    def __init__(self, *, n: int, years: int, today: date) -> None:
        self.n = n
        self.first_day = today - timedelta(days=365 * years)
        self.days = (today - self.first_day).days
        self.zone = clock.zone()

    def local_date(self, i: int) -> tuple[date, float]:
        position = (i + 0.5) * self.days / self.n
        day = int(position)
        return self.first_day + timedelta(days=day), position - day

    def created_at(self, i: int) -> datetime:
        day, fraction = self.local_date(i)
        opening = datetime.combine(day, time(9), tzinfo=self.zone)
        return (opening + timedelta(seconds=int(fraction * 12 * 3600))).astimezone(UTC)

    def year_counts(self) -> Counter[int]:
        return Counter(self.local_date(i)[0].year for i in range(self.n))


def _reserve_numbers(session: Session, counts: Counter[int]) -> dict[int, int]:
    """Advance each year's sequence by that year's count; -> year: first sequence number.

    The first number comes from customers.allocate_number (which creates a missing year row
    without racing a concurrent create), the rest by one UPDATE under the same row lock.
    """
    table = CustomerSequence.__table__
    first = {}
    for year, count in sorted(counts.items()):
        first[year] = int(allocate_number(session, year=year)[5:])
        if first[year] + count - 1 > 9_999_999:
            raise DomainError("customer.error.number_exhausted")
        session.exec(
            update(table).where(table.c.year == year).values(last=table.c.last + count - 1)
        )
    return first


class _Generator:
    """One customer at a time: plain columns, sensitive plaintexts, tags and contacts."""

    def __init__(self, rng: random.Random, staff: _Staff, now: datetime) -> None:
        self.rng = rng
        self.staff = staff
        self.now = now
        self.today = clock.to_local(now).date()
        self.recent: list[dict] = []  # individuals a duplicate record may copy

    # --- pieces ------------------------------------------------------------------------

    def _weighted(self, pairs: tuple[tuple[str, int], ...]) -> str:
        return self.rng.choices([p[0] for p in pairs], weights=[p[1] for p in pairs])[0]

    def _mobile(self, slot: int) -> str:
        suffix = _permute(slot, _PHONE_SPACE, 73_939_133, 12_345_671)
        return f"{MOBILE_PREFIXES[slot % len(MOBILE_PREFIXES)]}{suffix:08d}"

    def _person_name(self, male: bool) -> tuple[str, str]:
        surname, pinyin = self.rng.choice(SURNAMES)
        pool = GIVEN_MALE if male else GIVEN_FEMALE
        given = "".join(self.rng.choice(pool) for _ in range(self.rng.choice((1, 2, 2))))
        return surname + given, pinyin

    def _address(self, region: tuple[str, str, str] | None = None) -> str:
        _, city, district = region or self.rng.choice(REGIONS)
        text = f"{city}{district}{self.rng.choice(ROADS)}{self.rng.randint(1, 399)}号"
        if self.rng.random() < 0.7:
            text += f"{self.rng.randint(1, 30)}栋{self.rng.randint(1, 28)}{self.rng.randint(1, 4):02d}室"
        return text

    def _owner(self) -> tuple[int | None, int | None, int | None]:
        """(owner, second contact, store)."""
        if not self.staff.owners:
            store = self.rng.choice(self.staff.store_ids) if self.staff.store_ids else None
            return None, None, store
        owner, stores = self.rng.choice(self.staff.owners)
        others = [user for user, _ in self.staff.owners if user != owner]
        second = self.rng.choice(others) if others else None
        pool = stores or self.staff.store_ids
        return owner, second, self.rng.choice(pool) if pool else None

    # --- customers ---------------------------------------------------------------------

    def customer(self, i: int, created: datetime) -> tuple[dict, dict, list[str], list[dict]]:
        """-> (plain columns, sensitive plaintexts, tags, contacts)."""
        if self.rng.random() < 0.15:
            plain, secret, tags, contacts = self._organisation(i)
        else:
            plain, secret, tags, contacts = self._individual(i)
        owner, second, store = self._owner()
        plain.update(
            source_channel=self._weighted(CHANNELS),
            owner_id=owner,
            store_id=store,
            created_by=owner,
            created_at=created,
            updated_at=created,
        )
        if self.rng.random() < 0.2:
            plain["second_contact_id"] = second
        if plain["kind"] == "individual" and plain.get("id_type") == "resident_id":
            plain.update(self._verification(created, owner))
        return plain, secret, tags, contacts

    def _verification(self, created: datetime, owner: int | None) -> dict:
        roll = self.rng.random()
        if roll < 0.55 or owner is None:
            return {}
        when = created + (self.now - created) * self.rng.random()
        status = "verified" if roll < 0.95 else "failed"
        return {
            "verify_status": status,
            "verify_method": "id_card_at_counter",
            "verified_by": owner,
            "verified_at": when,
        }

    def _individual(self, i: int) -> tuple[dict, dict, list[str], list[dict]]:
        rng = self.rng
        if self.recent and (rng.random() < 0.005 or i % 100 == 99):
            # the same person registered twice: a duplicate candidate for the review list
            return self._duplicate_of(rng.choice(self.recent))
        code = _permute(i, _ID_SPACE, 1_000_003, 7_654_321)
        day, rest = code % _BIRTH_DAYS, code // _BIRTH_DAYS
        region, half = REGIONS[rest % len(REGIONS)], rest // len(REGIONS)
        male = rng.random() < 0.5
        birth = _BIRTH_FIRST + timedelta(days=day)
        name, pinyin = self._person_name(male)
        roll = rng.random()
        if roll < 0.92:
            id_type, id_number = "resident_id", make_cn_id(region[0], birth, half * 2 + male)
        elif roll < 0.95:
            id_type, id_number = "passport", f"E{_permute(i, 10**8, 48_271, 99_991):08d}"
        else:
            id_type, id_number = None, None
        age = (self.today - birth).days // 365
        occupation = "学生" if age < 22 else "退休" if age >= 62 else rng.choice(OCCUPATIONS)
        tags = [tag for tag, p in TAG_ODDS if rng.random() < p]
        secret = {
            "id_number": id_number,
            "phone": self._mobile(i),
            "phone2": self._mobile(_PHONE2_SLOT + i) if rng.random() < 0.1 else None,
            "email": self._email(pinyin) if rng.random() < 0.4 else None,
            "address": self._address(region if rng.random() < 0.7 else None)
            if rng.random() < 0.8
            else None,
            "employer": rng.choice(EMPLOYERS) if 22 <= age < 62 and rng.random() < 0.6 else None,
            "occupation": occupation if rng.random() < 0.7 else None,
            "birth_date": birth.isoformat() if id_type or rng.random() < 0.5 else None,
            "income": rng.choice(INCOMES) if rng.random() < 0.1 else None,
            "health": "花生过敏" if "过敏" in tags else None,
            "notes": rng.choice(NOTES) if rng.random() < 0.2 else None,
        }
        plain = {
            "kind": "individual",
            "name": name,
            "gender": "male" if male else "female",
            "nature": "individual",
            "id_type": id_type,
        }
        if secret["birth_date"]:
            plain["name_birth_bidx"] = _name_birth_index(name, birth)
            plain["birth_md_bidx"] = customer_fields.birthday_index(birth.isoformat())
        self.recent = [*self.recent[-99:], {"plain": dict(plain), "secret": secret}]
        return plain, secret, tags, []

    def _duplicate_of(self, earlier: dict) -> tuple[dict, dict, list[str], list[dict]]:
        keep = ("id_number", "phone", "birth_date", "address")
        secret = {field: earlier["secret"].get(field) for field in keep}
        return dict(earlier["plain"]), secret, [], []

    def _email(self, pinyin: str) -> str:
        domain = self.rng.choice(EMAIL_DOMAINS)
        if domain == "qq.com":
            return f"{self.rng.randint(10_000_000, 2_999_999_999)}@qq.com"
        return f"{pinyin}{self.rng.randint(1, 9999)}@{domain}"

    def _organisation(self, i: int) -> tuple[dict, dict, list[str], list[dict]]:
        rng = self.rng
        nature = self._weighted(ORG_NATURES)
        region = rng.choice(REGIONS)
        code, city, district = region
        brand, pinyin = rng.choice(BRANDS)
        if nature == "government":
            name, industry = f"{city}{district}{rng.choice(BUREAUS)}", "公共管理"
        elif nature == "public_institution":
            name, industry = f"{city}{rng.choice(INSTITUTIONS)}", "公共服务"
        else:
            industry = rng.choice(INDUSTRIES)
            suffix = rng.choice(("有限公司", "有限公司", "股份有限公司"))
            name = f"{city[:-1]}{brand}{industry}{suffix}"
        org_code = _permute(i, _USCC_SPACE, 1_000_033, 424_242)
        chars = []
        for _ in range(9):
            org_code, digit = divmod(org_code, 31)
            chars.append(_USCC_ALPHABET[digit])
        uscc = make_uscc(USCC_PREFIX.get(nature, "91") + code + "".join(chars))
        contacts = [
            {
                "name": self._person_name(rng.random() < 0.5)[0],
                "title": rng.choice(CONTACT_TITLES),
                "phone": self._mobile(_CONTACT_SLOT + i * 3 + k),
            }
            for k in range(rng.choice((1, 1, 2, 3)))
        ]
        founded = date(rng.randint(1990, 2022), rng.randint(1, 12), rng.randint(1, 28))
        plain = {
            "kind": "organisation",
            "name": name,
            "nature": nature,
            "uscc": uscc,
            "legal_representative": self._person_name(rng.random() < 0.7)[0],
            # 万元 -> fen
            "registered_capital_fen": rng.choice((50, 100, 200, 500, 1000, 5000, 10000))
            * 10_000
            * 100,
            "founding_date": founded,
            "industry": industry,
            "size": rng.choice(SIZES),
        }
        secret = {
            "phone": self._mobile(i),
            "email": f"contact{i}@{pinyin}.com.cn" if rng.random() < 0.5 else None,
            "address": self._address(region) + f"{rng.randint(1, 30)}层",
            "notes": rng.choice(NOTES[-2:]) if rng.random() < 0.2 else None,
        }
        tags = ["商务"] + (["团购"] if rng.random() < 0.2 else [])
        return plain, secret, tags, contacts


_CUSTOMER_COLUMNS = tuple(c.name for c in Customer.__table__.columns if c.name != "id")
_DEFAULTS = {
    **dict.fromkeys(_CUSTOMER_COLUMNS),
    "lifecycle": "potential",
    "grade": "E",
    "value_class": "scattered",
    "spend_12m_fen": 0,
    "completeness": 0,
    "verify_status": "unverified",
}


def _allocate_key_ids(session: Session, n: int) -> list[int]:
    """n fresh data_keys ids. PostgreSQL: from the table's sequence. SQLite: above the highest,
    safe because the unit of work holds SQLite's write lock from its BEGIN IMMEDIATE."""
    if session.get_bind().dialect.name == "postgresql":
        return list(
            session.execute(
                text(
                    "SELECT nextval(pg_get_serial_sequence('data_keys', 'id')) "
                    "FROM generate_series(1, :n)"
                ),
                {"n": n},
            ).scalars()
        )
    before = session.exec(select(func.max(DataKey.id))).scalar_one() or 0
    return list(range(before + 1, before + n + 1))


def _new_data_keys(session: Session, created: list[datetime]) -> list[int]:
    """One data key per customer, wrapped by the current master version as create_data_key
    does: the ids inserted in one statement, the wrapped keys put into the key store in one
    call (committed there before this unit of work commits), the keys remembered for this
    unit of work -> ids in order."""
    ring = get_keys().master
    ids = _allocate_key_ids(session, len(created))
    rows, stored, raw = [], [], {}
    for key_id, when in zip(ids, created, strict=True):
        key = crypto.generate_data_key()
        version, wrapped = crypto.wrap_data_key(ring, key)
        raw[key_id] = key
        stored.append((key_id, version, wrapped))
        rows.append({"id": key_id, "purpose": "customer", "created_at": when})
    session.execute(DataKey.__table__.insert(), rows)
    keystore.put_many(stored)
    datakeys.remember(session, raw)
    return ids


def _insert_batch(
    session: Session,
    drafts: list[tuple[dict, dict, list[str], list[dict]]],
    activities: list[demo_activity.Activity],
) -> tuple[int, int]:
    key_ids = _new_data_keys(session, [plain["created_at"] for plain, *_ in drafts])
    rows = []
    for (plain, secret, _, contacts), key_id in zip(drafts, key_ids, strict=True):
        bag = SimpleNamespace(data_key_id=key_id)
        for field, value in secret.items():
            if value:
                customer_fields.write(session, bag, field, value)  # type: ignore[arg-type]
        row = {**_DEFAULTS, **plain, **vars(bag)}
        row["completeness"] = completeness(SimpleNamespace(**row), contact_count=len(contacts))  # type: ignore[arg-type]
        rows.append(row)
    session.execute(Customer.__table__.insert(), rows)
    numbers = [row["number"] for row in rows]
    id_of = dict(
        session.exec(select(Customer.number, Customer.id).where(Customer.number.in_(numbers))).all()
    )
    tags, contacts = [], []
    for (_, _, tag_list, contact_list), number, key_id in zip(
        drafts, numbers, key_ids, strict=True
    ):
        customer_id = id_of[number]
        tags += [{"customer_id": customer_id, "tag": tag} for tag in tag_list]
        for contact in contact_list:
            contacts.append(
                {
                    "customer_id": customer_id,
                    "name": contact["name"],
                    "title": contact["title"],
                    "phone_enc": datakeys.encrypt(
                        session, key_id, contact["phone"], context=CONTACT_PHONE_CONTEXT
                    ),
                    "phone_bidx": customer_fields.blind_index("phone", contact["phone"]),
                }
            )
    if tags:
        session.execute(CustomerTag.__table__.insert(), tags)
    if contacts:
        session.execute(CustomerContact.__table__.insert(), contacts)
    return demo_activity.insert_activity(
        session,
        [
            (id_of[row["number"]], key_id, row["store_id"], activity)
            for row, key_id, activity in zip(rows, key_ids, activities, strict=True)
        ],
    )


def seed_customers(
    session_factory: Callable,
    *,
    n: int,
    years: int = 2,
    progress: Callable[[int, int], None] | None = None,
    seed: int = 42,
) -> int:
    """Create n demo customers created over the past `years` years; -> how many.

    `session_factory` is `db.session_scope` (one transaction per batch of 1,000). The same
    seed, n, years and day give the same customers.
    """
    if not 0 <= n <= MAX_CUSTOMERS:
        raise ValueError(f"n must be between 0 and {MAX_CUSTOMERS}")
    if n == 0:
        return 0
    now = clock.now()
    timeline = _Timeline(n=n, years=max(1, years), today=clock.to_local(now).date())
    with session_factory() as session:
        staff = _staff(session)
        next_number = _reserve_numbers(session, timeline.year_counts())
    generator = _Generator(random.Random(seed), staff, now)
    activity = demo_activity.ActivityGenerator(random.Random(seed + 1), now)
    today = clock.to_local(now).date()
    orders = logs = 0
    for start in range(0, n, BATCH):
        drafts, activities = [], []
        for i in range(start, min(n, start + BATCH)):
            created = timeline.created_at(i)
            plain, secret, tags, contacts = generator.customer(i, created)
            year = clock.to_local(created).year
            plain["number"] = f"C{year}{next_number[year]:07d}"
            next_number[year] += 1
            done = activity.for_customer(
                kind=plain["kind"], created_at=created, staff=plain["owner_id"]
            )
            plain.update(demo_activity.classify(done, today))
            drafts.append((plain, secret, tags, contacts))
            activities.append(done)
        with session_factory() as session:
            written = _insert_batch(session, drafts, activities)
        orders, logs = orders + written[0], logs + written[1]
        if progress:
            progress(start + len(drafts), n)
    with session_factory() as session:
        classes = demo_activity.finish(session)
        audit.record(
            session,
            actor=system_actor("seed-demo"),
            action="demo.seed_customers",
            detail={"count": n, "orders": orders, "service_logs": logs, **classes},
        )
    return n
