"""The knowledge base: articles that answer recurring questions, linked to the tickets
they helped with, so ``usage()`` shows which articles resolve the most tickets.

Everyone may read and search articles; roles that work tickets (service, manager, admin)
write them and link them to tickets. Search is plain ``LIKE`` on title, tags and body
(case-insensitive, any script, no extension needed on either database), ranked by where
the words matched: a title hit weighs most, then tags, then the body, and among equals
the articles that resolved more tickets come first. Articles are stored as written, so a
word is looked for in each width it may be written in, as customer search does
(:func:`~crmlib.rules.matching.search_forms`): "退货（七天）" finds "退货(七天)" and back.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import pandas as pd
from sqlalchemy import ColumnElement, case, func, literal, or_, select
from sqlalchemy.orm import Session

from ... import clock
from ...context import Context, localised
from ...errors import FieldError, ValidationError
from ...i18n import t
from ...rules import text, validate
from ...rules.matching import search_forms
from ...rules.tags import split_tags
from ...store.like import contains, search_text
from ...store.models import Article, Ticket, TicketArticle, User
from ..reach import reach

RULES = {"title": text(300), "body": text(20000), "category": text(64), "tags": text(500)}
REQUIRED = ("title", "body", "category")
#: Weight of a query word found in each field.
WEIGHTS = {"title": 3, "tags": 2, "body": 1}
DONE = ("resolved", "closed")


def tag_text(tags: Iterable[str] | str | None) -> str | None:
    """Tags as stored: trimmed, without repeats, comma-separated."""
    if tags is None:
        return None
    items = split_tags(tags) if isinstance(tags, str) else list(tags)
    unique = list(dict.fromkeys(str(tag).strip() for tag in items if str(tag).strip()))
    return ",".join(unique) or None


def _like(column: Any, word: str) -> ColumnElement[bool]:
    """``column`` holds ``word`` in any case and in any of its widths."""
    lowered = func.lower(column)
    return or_(*(contains(lowered, form) for form in search_forms(word)))


class KnowledgeBase:
    """Write, find and link knowledge-base articles."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    @localised
    def add(
        self, *, title: str, body: str, category: str, tags: Iterable[str] | str | None = None
    ) -> dict[str, Any]:
        """A new article; ``tags`` a list or a comma-separated text."""
        self._require_write("write knowledge-base articles")
        values = {"title": title, "body": body, "category": category, "tags": tag_text(tags)}
        clean = self._validate(values, REQUIRED)
        with self._ctx.session(action="create") as session:
            article = Article(**clean, author_id=self._ctx.actor.id)
            session.add(article)
            session.flush()
            return self._as_dict(session, article)

    @localised
    def update(self, article_id: int, **changes: Any) -> dict[str, Any]:
        self._require_write("change knowledge-base articles")
        unknown = [
            FieldError(k, v, "unknown_field", t("unknown_field", entity="kb_articles"))
            for k, v in changes.items()
            if k not in RULES
        ]
        if unknown:
            raise ValidationError(unknown)
        if "tags" in changes:
            changes = {**changes, "tags": tag_text(changes["tags"])}
        clean = self._validate(changes, tuple(k for k in REQUIRED if k in changes))
        with self._ctx.session() as session:
            article = self._load(session, article_id)
            for key, value in clean.items():
                setattr(article, key, value)
            session.flush()
            return self._as_dict(session, article)

    @localised
    def get(self, article_id: int) -> dict[str, Any]:
        with self._ctx.session() as session:
            return self._as_dict(session, self._load(session, article_id))

    @localised
    def frame(self, category: str | None = None) -> pd.DataFrame:
        """All articles (without bodies), newest first."""
        stmt = (
            select(
                Article.id,
                Article.title,
                Article.category,
                Article.tags,
                User.username.label("author"),
                Article.created_at,
                Article.updated_at,
            )
            .outerjoin(User, User.id == Article.author_id)
            .order_by(Article.created_at.desc(), Article.id.desc())
        )
        if category is not None:
            stmt = stmt.where(Article.category == category)
        return self._ctx.frame(stmt)

    @localised
    def search(self, query: str, limit: int = 20) -> pd.DataFrame:
        """Articles matching any word of ``query`` in title, tags or body, best first, with
        a ``score`` (3 per title hit, 2 per tag hit, 1 per body hit) and ``resolved`` (how
        many visible resolved or closed tickets they are linked to)."""
        words = list(dict.fromkeys(w for w in re.split(r"\s+", search_text(query).strip()) if w))
        if not words:
            raise ValidationError(FieldError("query", query, "required", t("required")))
        fields = {"title": Article.title, "tags": Article.tags, "body": Article.body}
        score: Any = literal(0)
        for word in words:
            for name, column in fields.items():
                score = score + case((_like(column, word), WEIGHTS[name]), else_=0)
        usage = self._usage_subquery()
        stmt = (
            select(
                Article.id,
                Article.title,
                Article.category,
                Article.tags,
                score.label("score"),
                func.coalesce(usage.c.resolved, 0).label("resolved"),
                func.substr(Article.body, 1, 120).label("excerpt"),
            )
            .outerjoin(usage, usage.c.article_id == Article.id)
            .where(or_(*(_like(c, w) for w in words for c in fields.values())))
            .order_by(score.desc(), func.coalesce(usage.c.resolved, 0).desc(), Article.id)
            .limit(limit)
        )
        return self._ctx.frame(stmt)

    @localised
    def link(self, ticket_id: int, article_id: int) -> dict[str, Any]:
        """Note that ``article_id`` was used on ``ticket_id``; linking twice changes nothing."""
        self._require_write("link articles to tickets")
        with self._ctx.session() as session:
            reach(
                session,
                self._ctx,
                select(Ticket).where(Ticket.id == ticket_id),
                f"ticket #{ticket_id}",
            )
            self._load(session, article_id)
            existing = session.execute(
                select(TicketArticle).where(
                    TicketArticle.ticket_id == ticket_id, TicketArticle.article_id == article_id
                )
            ).scalar_one_or_none()
            link = existing or TicketArticle(
                ticket_id=ticket_id,
                article_id=article_id,
                linked_by_id=self._ctx.actor.id,
                linked_at=clock.now(),
            )
            session.add(link)
            session.flush()
            return {"ticket_id": ticket_id, "article_id": article_id, "linked_at": link.linked_at}

    @localised
    def articles_of(self, ticket_id: int) -> pd.DataFrame:
        """The articles linked to one ticket."""
        with self._ctx.session() as session:
            reach(
                session,
                self._ctx,
                select(Ticket).where(Ticket.id == ticket_id),
                f"ticket #{ticket_id}",
            )
        stmt = (
            select(Article.id, Article.title, Article.category, TicketArticle.linked_at)
            .join(TicketArticle, TicketArticle.article_id == Article.id)
            .where(TicketArticle.ticket_id == ticket_id)
            .order_by(TicketArticle.linked_at, Article.id)
        )
        return self._ctx.frame(stmt)

    @localised
    def usage(self) -> pd.DataFrame:
        """Per article: ``tickets`` linked and how many of them are ``resolved`` (or
        closed), and the ``resolved_share``; the articles that resolve most come first.
        Counts cover the tickets this user may see."""
        usage = self._usage_subquery()
        tickets = func.coalesce(usage.c.tickets, 0)
        resolved = func.coalesce(usage.c.resolved, 0)
        stmt = (
            select(
                Article.id,
                Article.title,
                Article.category,
                tickets.label("tickets"),
                resolved.label("resolved"),
            )
            .outerjoin(usage, usage.c.article_id == Article.id)
            .order_by(resolved.desc(), tickets.desc(), Article.id)
        )
        df = self._ctx.frame(stmt)
        df["resolved_share"] = (df.resolved / df.tickets.where(df.tickets > 0)).round(3)
        return df

    # -- helpers --------------------------------------------------------------------------

    def _usage_subquery(self) -> Any:
        done = case((Ticket.status.in_(DONE), 1), else_=0)
        return (
            select(
                TicketArticle.article_id,
                func.count().label("tickets"),
                func.sum(done).label("resolved"),
            )
            .join(Ticket, Ticket.id == TicketArticle.ticket_id)
            .where(Ticket.customer_id.in_(self._ctx.scope.customer_ids()))
            .group_by(TicketArticle.article_id)
            .subquery()
        )

    def _require_write(self, action: str) -> None:
        self._ctx.scope.require(self._ctx.actor.role.edit_tickets, action)

    def _validate(self, values: dict[str, Any], required: tuple[str, ...]) -> dict[str, Any]:
        clean, errors = validate(RULES, values)
        errors += [
            FieldError(name, values.get(name), "required", t("required"))
            for name in required
            if clean.get(name) is None and not any(e.field == name for e in errors)
        ]
        if errors:
            raise ValidationError(errors)
        return clean

    def _load(self, session: Session, article_id: int) -> Article:
        article: Article = reach(
            session,
            self._ctx,
            select(Article).where(Article.id == article_id),
            f"article #{article_id}",
        )
        return article

    def _as_dict(self, session: Session, article: Article) -> dict[str, Any]:
        values = {c.name: getattr(article, c.name) for c in Article.__table__.columns}
        author = session.get(User, article.author_id) if article.author_id else None
        values["author"] = author.username if author else None
        values["tags"] = article.tags.split(",") if article.tags else []
        return values
