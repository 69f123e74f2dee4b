"""A record's change history, read back from the audit log in words people use."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import select

from ..access import mask_email, mask_phone
from ..store.models import AuditEvent
from .context import Context

PII_FIELDS = {"phone": mask_phone, "email": mask_email}

VERBS = {
    "en": {
        "create": "created {entity} {ref}",
        "update": "changed {field} of {ref} from {old} to {new}",
        "archive": "archived {ref} ({field}: {old} → {new})",
        "delete": "deleted {entity} of {ref}",
        "import": "changed {field} of {ref} from {old} to {new} (import)",
        "merge": "changed {field} of {ref} from {old} to {new} (merge)",
        "unmerge": "changed {field} of {ref} from {old} to {new} (unmerge)",
        "merge:absorbed": "merged {new} into {ref}",
        "merge:merged_into": "merged {ref} into {new}",
        "unmerge:absorbed": "separated {new} from {ref} again",
        "unmerge:merged_into": "separated {ref} from {new} again",
    },
    "zh": {
        "create": "创建了{entity} {ref}",
        "update": "将 {ref} 的 {field} 从 {old} 改为 {new}",
        "archive": "归档了 {ref}（{field}：{old} → {new}）",
        "delete": "删除了 {ref} 的{entity}",
        "import": "通过导入将 {ref} 的 {field} 从 {old} 改为 {new}",
        "merge": "合并时将 {ref} 的 {field} 从 {old} 改为 {new}",
        "unmerge": "拆分时将 {ref} 的 {field} 从 {old} 改为 {new}",
        "merge:absorbed": "将 {new} 合并进 {ref}",
        "merge:merged_into": "将 {ref} 合并进 {new}",
        "unmerge:absorbed": "将 {new} 从 {ref} 拆分出来",
        "unmerge:merged_into": "将 {ref} 从 {new} 拆分出来",
    },
}
ENTITY_NAMES = {
    "en": {"customers": "customer", "contacts": "contact", "customer_tags": "tag",
           "opportunities": "opportunity", "interactions": "follow-up", "orders": "order"},
    "zh": {"customers": "客户", "contacts": "联系人", "customer_tags": "标签",
           "opportunities": "商机", "interactions": "跟进记录", "orders": "订单"},
}  # fmt: skip


def describe(event: pd.Series, lang: str) -> str:
    """One line per event: "2024-05-01 10:00 zhang changed phone of C… from … to …"."""
    verbs = VERBS["en" if lang == "en" else "zh"]
    names = ENTITY_NAMES["en" if lang == "en" else "zh"]
    # A merge's own line names the other customer in a pseudo-field (absorbed, merged_into).
    key = event["action"]
    if event["entity"] == "merges":
        key = f"{event['action']}:{event['field']}"
    template = verbs.get(key, "{action} {entity} {ref}: {new}")
    empty = "(empty)" if lang == "en" else "（空）"
    entity = names.get(event["entity"], event["entity"])
    field = event["field"] if event["entity"] == "customers" else f"{entity}.{event['field']}"
    sentence = template.format(
        entity=entity,
        ref=event["ref"],
        field=field,
        old=empty if pd.isna(event["old_value"]) else event["old_value"],
        new=empty if pd.isna(event["new_value"]) else event["new_value"],
        action=event["action"],
    )
    return f"{pd.Timestamp(event['occurred_at']):%Y-%m-%d %H:%M} {event['actor']} {sentence}"


def history(ctx: Context, ref: str) -> pd.DataFrame:
    """Audit events filed under ``ref`` (a customer code or username), newest first."""
    stmt = (
        select(
            AuditEvent.occurred_at,
            AuditEvent.actor,
            AuditEvent.action,
            AuditEvent.entity,
            AuditEvent.entity_id,
            AuditEvent.ref,
            AuditEvent.field,
            AuditEvent.old_value,
            AuditEvent.new_value,
            AuditEvent.batch_id,
        )
        .where(AuditEvent.ref == ref)
        .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
    )
    df = ctx.frame(stmt).astype(object)
    df = df.where(df.notna(), None)
    if not ctx.actor.role.see_pii:
        for field, mask in PII_FIELDS.items():
            rows = df["field"] == field
            df.loc[rows, "old_value"] = df.loc[rows, "old_value"].map(mask)
            df.loc[rows, "new_value"] = df.loc[rows, "new_value"].map(mask)
        snapshots = df["field"].isna()
        df.loc[snapshots, "old_value"] = None
        df.loc[snapshots, "new_value"] = None
    df["text"] = [describe(row, ctx.lang) for _, row in df.iterrows()] if len(df) else []
    return df
