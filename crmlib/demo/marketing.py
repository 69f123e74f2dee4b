"""Marketing campaigns, who they reached, and which leads, deals and orders they brought.

Campaigns are the events of a B2B marketing calendar (trade fairs, webinars, mailings,
WeChat pushes, advertising), each with a budget, its actual cost and a goal. Members are
customers reached (sent → responded → converted) and leads the campaign produced, so
campaign ROI and attribution reports have consistent numbers to work with.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..reference.enums import MEMBER_STATUS
from .customers import Chunk
from .timeline import DAY, HOUR, Timeline
from .vectors import Array, Rows, choose, nullable, pool

MIN_CAMPAIGNS, MAX_CAMPAIGNS = 10, 20


@dataclass(frozen=True)
class Template:
    name: str
    channel: str
    days: int
    budget: tuple[int, int]  # CNY
    goal: str
    segment: str
    reach: float  # share of existing customers it is sent to


# fmt: off
TEMPLATES: tuple[Template, ...] = (
    Template("工业自动化展（上海）", "exhibition", 4, (200_000, 400_000),
             "获取有效线索300条", "制造业客户", 0.02),
    Template("华南国际电子展", "exhibition", 3, (150_000, 300_000),
             "获取有效线索200条", "华南地区电子制造企业", 0.015),
    Template("智能制造解决方案研讨会", "webinar", 1, (20_000, 50_000),
             "报名500人，转化商机30个", "制造业A/B类客户", 0.05),
    Template("数字化转型线上峰会", "webinar", 2, (50_000, 100_000),
             "报名1000人", "IT与制造业客户", 0.04),
    Template("老客户回馈计划", "email", 30, (30_000, 60_000),
             "复购率提升10%", "有订单的活跃客户", 0.15),
    Template("年中促销", "sms", 20, (20_000, 40_000),
             "促成订单500万元", "全部客户", 0.2),
    Template("双十一采购节", "wechat", 14, (50_000, 80_000),
             "线上订单增长30%", "中小企业客户", 0.12),
    Template("年末客户答谢会", "exhibition", 1, (100_000, 200_000),
             "重点客户续约率90%", "A类客户", 0.02),
    Template("行业白皮书下载", "advertising", 60, (80_000, 150_000),
             "获取线索1000条", "IT与制造业潜在客户", 0.03),
    Template("搜索引擎推广", "advertising", 90, (100_000, 300_000),
             "官网线索增长50%", "全国潜在客户", 0.03),
    Template("公众号内容营销", "wechat", 60, (20_000, 50_000),
             "新增关注5000人", "全部客户", 0.1),
    Template("新产品试用活动", "email", 30, (10_000, 30_000),
             "试用客户200家", "潜在客户", 0.08),
    Template("渠道伙伴大会", "exhibition", 2, (150_000, 250_000),
             "签约新经销商20家", "经销商", 0.01),
    Template("售后服务满意度回访", "sms", 14, (5_000, 10_000),
             "回访完成率90%", "有工单的客户", 0.1),
    Template("春节前备货提醒", "sms", 10, (5_000, 15_000),
             "节前订单增长20%", "活跃客户", 0.15),
    Template("MES系统线上直播", "webinar", 1, (10_000, 20_000),
             "直播观看2000人次", "制造业客户", 0.05),
    Template("华北工业博览会", "exhibition", 4, (120_000, 250_000),
             "获取有效线索150条", "华北地区企业", 0.015),
    Template("教育行业专场推介", "email", 20, (10_000, 20_000),
             "教育行业线索100条", "教育行业客户", 0.02),
    Template("安全生产月专题推广", "wechat", 30, (15_000, 30_000),
             "商机20个", "制造业与建筑业客户", 0.06),
    Template("西部市场拓展路演", "exhibition", 10, (80_000, 150_000),
             "西南西北新客户50家", "西南、西北地区企业", 0.02),
)
# fmt: on
MEMBER_STATUSES = pool(list(MEMBER_STATUS.codes))  # sent, responded, converted
MEMBER_SHARES = (0.75, 0.2, 0.05)
RESPONSE_HOURS = 30  # median time from sending to a response
COST_RANGE = (0.85, 1.1)  # actual cost of a finished campaign against its budget
PLANNING_DAYS = 30  # a campaign is entered this long before it starts
REPLY_DAYS = 14  # a converted member orders within this many days


@dataclass(frozen=True)
class Campaigns:
    rows: Rows
    ids: Array
    start: Array  # seconds
    end: Array
    reach: Array

    def attribute(self, rng: np.random.Generator, moment: Array, share: Array | float) -> Array:
        """For about ``share`` of the moments, the id of a campaign running then (else -1)."""
        chosen = np.full(len(moment), -1, dtype=np.int64)
        seen = np.zeros(len(moment), dtype=np.int64)
        for i in range(len(self.ids)):  # reservoir sampling: each running campaign equally
            running = (moment >= self.start[i]) & (moment < self.end[i] + 30 * DAY)
            seen += running
            take = running & (rng.random(len(moment)) * np.maximum(seen, 1) < 1)
            chosen[take] = self.ids[i]
        return np.where(rng.random(len(moment)) < share, chosen, -1)


def plan_campaigns(
    rng: np.random.Generator, timeline: Timeline, first_id: int, owners: Array
) -> Campaigns:
    count = int(rng.integers(MIN_CAMPAIGNS, MAX_CAMPAIGNS + 1))
    picked = [TEMPLATES[i] for i in rng.choice(len(TEMPLATES), count, replace=False)]
    days = np.array([t.days for t in picked])
    start = rng.integers(0, timeline.days - days) * DAY + 9 * HOUR
    end = start + days * DAY
    budget = np.array([rng.integers(*t.budget) // 1000 * 1000 for t in picked], dtype=float)
    done = np.clip((timeline.seconds - start) / (end - start), 0.0, 1.0)
    cost = np.round(budget * done * rng.uniform(*COST_RANGE, count), 2)
    years = (np.datetime64(timeline.start, "D") + start // DAY).astype("datetime64[Y]")
    ids = np.arange(first_id, first_id + count)
    created = np.maximum(0, start - PLANNING_DAYS * DAY)
    rows: Rows = {
        "id": ids,
        "name": pool([f"{y}年{t.name}" for y, t in zip(years.astype(str), picked, strict=True)]),
        "channel": pool([t.channel for t in picked]),
        "start_date": timeline.dates(start),
        "end_date": timeline.dates(end - DAY),
        "budget": budget,
        "actual_cost": cost,
        "goal": pool([t.goal for t in picked]),
        "target_segment": pool([t.segment for t in picked]),
        "owner_id": owners[rng.integers(0, len(owners), count)],
        "created_at": timeline.stamp(created),
        "updated_at": timeline.stamp(np.minimum(end, timeline.seconds - 1)),
    }
    return Campaigns(rows, ids, start, end, np.array([t.reach for t in picked]))


@dataclass(frozen=True)
class Reached:
    """Customers of a chunk that campaigns reached."""

    rows: Rows
    converted: Array  # chunk positions of customers who converted
    converted_at: Array  # seconds of their response
    converted_by: Array  # campaign ids


def customer_members(
    rng: np.random.Generator, chunk: Chunk, campaigns: Campaigns, timeline: Timeline
) -> Reached:
    """Existing customers each campaign was sent to, and how they responded."""
    customer_parts, campaign_parts = [], []
    for i in range(len(campaigns.ids)):
        existing = chunk.created < campaigns.start[i]
        picked = np.flatnonzero(existing & (rng.random(len(chunk)) < campaigns.reach[i]))
        customer_parts.append(picked)
        campaign_parts.append(np.full(len(picked), i))
    customer = np.concatenate(customer_parts)
    campaign = np.concatenate(campaign_parts)
    n = len(customer)
    sent = campaigns.start[campaign] + (
        rng.random(n) * (campaigns.end[campaign] - campaigns.start[campaign])
    ).astype(np.int64)
    sent = np.minimum(sent, timeline.seconds - 1)
    responded = sent + (rng.lognormal(np.log(RESPONSE_HOURS), 1.0, n) * HOUR).astype(np.int64)
    status = choose(rng, MEMBER_SHARES, n)
    status[responded >= timeline.seconds] = 0
    converted = status == 2
    return Reached(
        rows={
            "campaign_id": campaigns.ids[campaign],
            "customer_id": chunk.ids[customer],
            "lead_id": np.full(n, None, dtype=object),
            "status": MEMBER_STATUSES[status],
            "sent_at": timeline.stamp(sent),
            "responded_at": timeline.stamp(responded, status > 0),
        },
        converted=customer[converted],
        converted_at=responded[converted],
        converted_by=campaigns.ids[campaign[converted]],
    )


def lead_members(
    lead: Array, campaign: Array, customer: Array, created: Array, timeline: Timeline
) -> Rows:
    """Leads a campaign produced are its members: responded, or converted with the lead
    (``customer`` is the customer id a lead became, -1 if none)."""
    mine = campaign >= 0
    responded = created[mine]
    converted = customer[mine] >= 0
    return {
        "campaign_id": campaign[mine],
        "customer_id": nullable(customer[mine], converted),
        "lead_id": lead[mine],
        "status": MEMBER_STATUSES[np.where(converted, 2, 1)],
        "sent_at": timeline.stamp(np.maximum(0, responded - 2 * HOUR)),
        "responded_at": timeline.stamp(responded),
    }
