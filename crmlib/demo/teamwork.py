"""Tasks and comments: the to-dos around open deals and the notes colleagues leave.

Each open deal may have a task for its owner (prepare the proposal, confirm terms …) due
around the as-of date, so reminders show some overdue and some upcoming work. On some
open deals a service agent leaves a comment that @mentions the owner, which, as in the
app, gives the owner a task linked to the comment and due the day it was written.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..reference.enums import PRIORITY
from .roster import Roster
from .sales import Deals
from .timeline import DAY, Timeline
from .vectors import Array, Rows, choose, concat, pool

TASK_SHARE = 0.6  # open deals with a task of their own
TASK_TITLES = pool(
    [
        "准备报价方案",
        "安排技术交流会",
        "确认合同条款",
        "跟进样品测试结果",
        "整理客户需求清单",
        "约客户高层拜访",
        "提交方案评审",
        "确认付款方式",
    ]
)
DUE_DAYS = (-10, 21)  # due relative to the as-of date
IN_PROGRESS_SHARE = 0.3
PRIORITIES = pool(list(PRIORITY.codes))  # high, medium, low
PRIORITY_WEIGHTS = (0.25, 0.55, 0.2)
COMMENT_SHARE = 0.15  # open deals a service agent comments on
COMMENT_DAYS = 14  # comments fall in the last two weeks
COMMENT_NOTES = pool(
    [
        " 客户来电询问交付时间，请尽快回复。",
        " 客户反馈上次样品有划痕，请跟进。",
        " 客户希望安排一次现场培训，请确认时间。",
        " 客户采购经理更换，请重新建立联系。",
    ]
)
EXCERPT = 80


@dataclass(frozen=True)
class Teamwork:
    tasks: Rows
    comments: Rows


def teamwork_rows(
    rng: np.random.Generator,
    deals: Deals,
    roster: Roster,
    timeline: Timeline,
    first_task_id: int,
    first_comment_id: int,
) -> Teamwork:
    """Tasks on open deals, and comments with a mention task each."""
    now = timeline.seconds - 1
    open_deals = np.flatnonzero(deals.closed < 0)
    owners = deals.rows["owner_id"]
    usernames = _usernames(roster)

    own = open_deals[rng.random(len(open_deals)) < TASK_SHARE]
    n = len(own)
    task_created = np.maximum(deals.created[own], now - 30 * DAY)
    due = np.maximum(task_created, now + rng.integers(*DUE_DAYS, n) * DAY)

    talked = open_deals[rng.random(len(open_deals)) < COMMENT_SHARE]
    m = len(talked)
    said = np.maximum(deals.created[talked], now - rng.integers(0, COMMENT_DAYS * DAY, m))
    author = roster.service[rng.integers(0, len(roster.service), m)] if m else np.zeros(0, int)
    body = concat(
        np.full(m, "@", dtype=object),
        usernames[owners[talked]].astype(object),
        COMMENT_NOTES[rng.integers(0, len(COMMENT_NOTES), m)],
    )
    comment_ids = np.arange(first_comment_id, first_comment_id + m)
    comments: Rows = {
        "id": comment_ids,
        "entity": np.full(m, "opportunity", dtype=object),
        "entity_id": deals.rows["id"][talked],
        "customer_id": deals.rows["customer_id"][talked],
        "author_id": author,
        "body": body,
        "created_at": timeline.stamp(said),
    }

    mention_title = concat(
        usernames[author].astype(object),
        " 提到了你：",
        np.array([text[:EXCERPT] for text in body], dtype=object),
    )
    ids = np.arange(first_task_id, first_task_id + n + m)
    created = np.concatenate([task_created, said])
    status = np.where(rng.random(n) < IN_PROGRESS_SHARE, "in_progress", "open")
    deal = np.concatenate([own, talked])
    tasks: Rows = {
        "id": ids,
        "title": np.concatenate([TASK_TITLES[rng.integers(0, len(TASK_TITLES), n)], mention_title]),
        "description": np.concatenate([np.full(n, None, dtype=object), body]),
        "assignee_id": owners[deal],
        "created_by_id": np.concatenate([owners[own], author]),
        "priority": np.concatenate(
            [PRIORITIES[choose(rng, PRIORITY_WEIGHTS, n)], np.full(m, "medium", dtype=object)]
        ),
        "status": np.concatenate([status.astype(object), np.full(m, "open", dtype=object)]),
        "due_date": timeline.dates(np.concatenate([due, said])),
        "entity": np.full(n + m, "opportunity", dtype=object),
        "entity_id": deals.rows["id"][deal],
        "customer_id": deals.rows["customer_id"][deal],
        "comment_id": np.concatenate([np.full(n, None, dtype=object), comment_ids.astype(object)]),
        "completed_at": np.full(n + m, np.datetime64("NaT"), dtype="datetime64[s]"),
        "created_at": timeline.stamp(created),
        "updated_at": timeline.stamp(created),
    }
    return Teamwork(tasks, comments)


def _usernames(roster: Roster) -> Array:
    """Usernames indexed by user id (of the users the demo adds)."""
    ids = roster.rows["id"]
    names = np.full(int(ids.max()) + 1 if len(ids) else 1, "", dtype=object)
    names[ids] = roster.rows["username"]
    return names
