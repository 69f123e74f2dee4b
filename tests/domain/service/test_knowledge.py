"""Knowledge base: who writes, search in Chinese and English, links and usage."""

from __future__ import annotations

import pytest

from crmlib import AccessDenied, NotFound, ValidationError
from tests.commands import crm
from tests.factories import Team, company


def test_write_search_link_and_usage(team: Team) -> None:
    kb = team.sun.kb
    login = kb.add(
        title="系统登录异常排查",
        body="清除浏览器缓存后重试；仍失败请重置密码。",
        category="技术支持",
        tags="登录，密码",
    )
    invoice = kb.add(
        title="Invoice corrections",
        body="How to reissue an invoice (发票).",
        category="财务",
        tags=["发票", "账单"],
    )
    manual = kb.add(
        title="设备安装手册", body="安装后如无法登录，请联系技术支持。", category="售后"
    )
    assert login["tags"] == ["登录", "密码"] and login["author"] == "sun"

    found = kb.search("登录")
    assert found.id.tolist() == [login["id"], manual["id"]]  # title hit ranks above body hit
    assert found.score.tolist() == [5, 1]  # title 3 + tags 2; body 1
    assert kb.search("INVOICE").id.tolist() == [invoice["id"]]  # case-insensitive
    assert kb.search("发票 密码").id.tolist() == [login["id"], invoice["id"]]
    assert kb.search("100%").empty  # LIKE wildcards are matched literally
    with pytest.raises(ValidationError):
        kb.search("  ")

    code = team.zhang.customers.add(**company()).code
    other = team.zhao.customers.add(**company(name="北京远航贸易有限公司")).code
    tickets = team.sun.tickets
    first = int(tickets.open(code, type="technical", subject="登录失败")["id"])  # type: ignore[call-overload]
    second = int(tickets.open(other, type="technical", subject="无法登录")["id"])  # type: ignore[call-overload]
    for tid in (first, second):
        kb.link(tid, int(login["id"]))  # type: ignore[call-overload]
    kb.link(first, int(login["id"]))  # type: ignore[call-overload]  # twice: still one link
    kb.link(first, int(manual["id"]))  # type: ignore[call-overload]
    tickets.start(first)
    tickets.resolve(first, "重置密码后恢复")
    usage = kb.usage().set_index("id")
    assert usage.loc[login["id"], ["tickets", "resolved"]].tolist() == [2, 1]
    assert usage.loc[invoice["id"], ["tickets", "resolved"]].tolist() == [0, 0]
    assert kb.usage().id.tolist()[0] in (login["id"], manual["id"])
    assert kb.articles_of(first).title.tolist() == ["系统登录异常排查", "设备安装手册"]
    # a rep's usage counts only the tickets they may see
    mine = team.zhang.kb.usage().set_index("id")
    assert mine.loc[login["id"], ["tickets", "resolved"]].tolist() == [1, 1]
    with pytest.raises(AccessDenied):
        team.zhang.kb.articles_of(second)


def test_rules_and_permissions(team: Team) -> None:
    with pytest.raises(ValidationError) as exc:
        team.sun.kb.add(title="", body="x", category="技术支持")
    assert [(e.field, e.rule) for e in exc.value.errors] == [("title", "required")]
    with pytest.raises(ValidationError) as exc:
        team.sun.kb.add(title="t" * 301, body="x", category="c")
    assert exc.value.errors[0].rule == "too_long"
    for outsider in (team.zhang, team.ana):
        with pytest.raises(AccessDenied):
            outsider.kb.add(title="t", body="b", category="c")
    article = team.wang.kb.add(title="退货流程", body="七天无理由退货。", category="售后")
    assert team.ana.kb.get(int(article["id"]))["title"] == "退货流程"  # type: ignore[call-overload]
    updated = team.admin.kb.update(int(article["id"]), tags="退货,售后", body="十五天内可退。")  # type: ignore[call-overload]
    assert updated["tags"] == ["退货", "售后"]
    with pytest.raises(ValidationError) as exc:
        team.sun.kb.update(int(article["id"]), colour="red")  # type: ignore[call-overload]
    assert exc.value.errors[0].rule == "unknown_field"
    with pytest.raises(NotFound):
        team.sun.kb.link(999, int(article["id"]))  # type: ignore[call-overload]
    with pytest.raises(NotFound):
        team.sun.kb.get(999)


def test_search_finds_words_written_in_either_width(team: Team) -> None:
    kb = team.sun.kb
    half = kb.add(title="退货(七天)无理由", body="签收后七天内可退。", category="售后")
    full = kb.add(
        title="售后政策",
        body="支持退货（七天），　请保留包装。VIP客户上门取件。",
        category="售后",
        tags="退货（七天）",
    )
    ids = sorted([half["id"], full["id"]])
    for query in ("退货（七天）", "退货(七天)", "退货　七天"):
        assert sorted(kb.search(query).id.tolist()) == ids, query
    assert kb.search("ｖｉｐ客户").id.tolist() == [full["id"]]
    assert kb.search("（七天）").score.tolist() == [3, 3]  # tags 2 + body 1; title 3
    # the articles are stored as written
    assert kb.get(int(half["id"]))["title"] == "退货(七天)无理由"
    assert kb.get(int(full["id"]))["body"].startswith("支持退货（七天），　请")
    shown = crm("kb", "search", "退货（七天）", url=team.url, user="sun")
    assert shown.returncode == 0, shown.stderr
    assert "退货(七天)无理由" in shown.stdout and "售后政策" in shown.stdout
