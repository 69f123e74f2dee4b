"""Team mode: on PostgreSQL, identity from the database login and scopes enforced by the
database itself.

A database becomes a team database once, with :func:`enable` (``crm init --team``) run
through an installation connection (a superuser, or a role with CREATEROLE that owns the
database). It then has

- an owner role (``crm_<database>_owner``, NOLOGIN) that owns every CRM table, sequence
  and function: migrations run as it (:func:`upgrade`), so later tables are its too;
- a group role (``crm_<database>_users``, NOLOGIN) that every CRM user's login belongs to
  and that holds the grants: every table of the schema, except that nobody may change or
  delete audit events, the schema version or the team-mode record;
- two NOLOGIN roles that choose a login's policy: ``crm_<database>_all`` for the CRM roles
  whose scope is ``all``, ``crm_<database>_scoped`` for ``own`` and ``team``;
- one LOGIN role per CRM user, of the user's name, owning nothing, without SUPERUSER,
  CREATEROLE or BYPASSRLS, a member of the group role and of one of those two only (so
  ``SET ROLE`` reaches no other user);
- row-level security, enabled and forced, on every table of :data:`POLICIES`, with the
  scopes of :mod:`crmlib.access`: the scoped policies ask STABLE SECURITY DEFINER
  functions who acts (``session_user``), each called once per statement; on the tables
  of :data:`GUARDED` (``users``, ``settings``, campaigns, ...), which only the roles with
  the table's permission may change; and on ``audit_events``, read by scope. Where each
  table stands is listed in :mod:`crmlib.team_policies`.

The installation connection (a member of the owner role) sees every row, so migrations
and repairs are whole. Everywhere else (SQLite, PostgreSQL set up without ``--team``)
nothing changes: whoever can open the database may act as anyone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, insert, inspect, select, text

from . import clock, team_audit
from .access import ROLES
from .errors import AccessDenied, ConfigError, Conflict, FieldError, ValidationError
from .i18n import t
from .rules import identifier, validate
from .store.migrate import migrate
from .store.models import TeamMode, User
from .team_policies import (
    APPEND_ONLY,
    GUARDED,
    INSTALLER,
    POLICIES,
    READ_ONLY,
    audit_scope,
    guard,
)

#: The longest password a login may have, in characters.
MAX_PASSWORD = 1024
#: The policies of a scoped table: by which role a login is in.
_SCOPE_POLICIES = ("crm_all", "crm_scoped")


@dataclass(frozen=True)
class TeamRoles:
    """The roles of a team database: the owner; the group of every login; the roles of the
    logins whose CRM role sees every row (``everyone``) or a scope (``scoped``)."""

    owner: str
    group: str
    everyone: str
    scoped: str


def role_names(database: str) -> TeamRoles:
    """The roles of ``database``: named after it, so several CRM databases share a cluster."""
    base = re.sub(r"[^a-z0-9_]", "_", database.lower())[:48]
    return TeamRoles(*(f"crm_{base}_{kind}" for kind in ("owner", "users", "all", "scoped")))


def team_roles(conn: Connection) -> TeamRoles | None:
    """The roles of a team database; None for any other database (SQLite included)."""
    if conn.dialect.name != "postgresql" or not inspect(conn).has_table(TeamMode.__tablename__):
        return None
    row = conn.execute(
        select(TeamMode.owner_role, TeamMode.group_role, TeamMode.all_role, TeamMode.scoped_role)
    ).first()
    return None if row is None else TeamRoles(*row)


def login_of(engine: Engine) -> str | None:
    """On a team database, the login of the connection (``session_user``): the only user
    it may act as. None elsewhere, where the acting user is whoever the caller names."""
    if engine.dialect.name != "postgresql":
        return None
    with engine.connect() as conn:
        if team_roles(conn) is None:
            return None
        return str(conn.execute(text("SELECT session_user")).scalar_one())


def acting_username(engine: Engine, asked: str | None) -> str | None:
    """Who acts on ``engine``'s database: on a team database its login, and ``asked`` (a
    ``user=``, ``--user``, ``CRM_USER``) naming anyone else is refused; elsewhere ``asked``."""
    login = login_of(engine)
    if login is None:
        return asked
    if asked and asked != login:
        raise AccessDenied(t("team_mode:not_your_login", asked=asked, login=login))
    return login


def is_installer(conn: Connection, roles: TeamRoles) -> bool:
    """Whether the connection's login may migrate and repair: a member of the owner role."""
    return bool(
        conn.execute(
            text("SELECT pg_has_role(session_user, :owner, 'MEMBER')"), {"owner": roles.owner}
        ).scalar_one()
    )


def _quote(conn: Connection, name: str) -> str:
    return conn.dialect.identifier_preparer.quote_identifier(name)


def _scope_sql() -> str:
    """The scope of a user's role, as SQL over ``me.role``: :data:`crmlib.access.ROLES`."""
    whens = " ".join(f"WHEN '{role.name}' THEN '{role.scope}'" for role in ROLES.values())
    return f"CASE me.role {whens} END"


def _functions(owner: str) -> list[str]:
    """Who acts, for the policies: SECURITY DEFINER (users' own rows need no grant), STABLE
    and called through ``(SELECT ...)``, so PostgreSQL looks the user up once per statement."""
    header = "LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_catalog AS $$ {} $$"
    me = "FROM users me WHERE me.username = session_user AND me.active"
    return [
        "CREATE OR REPLACE FUNCTION crm_scope() RETURNS text "
        + header.format(
            f"SELECT CASE WHEN pg_has_role(session_user, '{owner}', 'MEMBER') THEN 'all' "
            f"ELSE (SELECT {_scope_sql()} {me}) END"
        ),
        "CREATE OR REPLACE FUNCTION crm_role() RETURNS text "
        + header.format(
            f"SELECT CASE WHEN pg_has_role(session_user, '{owner}', 'MEMBER') "
            f"THEN '{INSTALLER}' ELSE (SELECT me.role {me}) END"
        ),
        "CREATE OR REPLACE FUNCTION crm_team() RETURNS text "
        + header.format(f"SELECT me.team {me}"),
        "CREATE OR REPLACE FUNCTION crm_scope_users() RETURNS integer[] "
        + header.format(
            f"SELECT array_agg(u.id) FROM users u, users me WHERE me.username = session_user "
            f"AND me.active AND (u.id = me.id OR ({_scope_sql()} = 'team' "
            "AND me.team IS NOT NULL AND u.team = me.team))"
        ),
    ]


def _user_functions(roles: TeamRoles) -> list[str]:
    """Logins are made, re-keyed and closed through these, owned by the owner role (which
    alone may create roles): each checks that the caller's role may manage users
    (:attr:`crmlib.access.Role.manage_users`, or an installation login), and touches only
    members of the group role."""
    managers = ", ".join(f"'{r.name}'" for r in ROLES.values() if r.manage_users)
    header = (
        "LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_catalog AS $$ BEGIN {} "
        "END $$"
    )
    check = (
        f"IF NOT (pg_has_role(session_user, '{roles.owner}', 'MEMBER') OR EXISTS (SELECT 1 "
        "FROM users me WHERE me.username = session_user AND me.active "
        f"AND me.role IN ({managers}))) THEN RAISE EXCEPTION 'crm: % may not manage users', "
        "session_user USING ERRCODE = '42501'; END IF; "
    )
    member = (  # a direct member of the group role, neither superuser nor the owner
        "IF NOT EXISTS (SELECT 1 FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.member "
        f"JOIN pg_roles g ON g.oid = m.roleid WHERE g.rolname = '{roles.group}' "
        "AND r.rolname = name AND NOT r.rolsuper AND NOT r.rolcreaterole) OR NOT EXISTS "
        "(SELECT 1 FROM users u WHERE u.username = name) THEN RAISE EXCEPTION "
        "'crm: % is no CRM login', name USING ERRCODE = '42501'; END IF; "
    )
    return [
        "CREATE OR REPLACE FUNCTION crm_create_login(name text, verifier text) RETURNS void "
        + header.format(
            check + "IF NOT EXISTS (SELECT 1 FROM users u WHERE u.username = name) THEN RAISE "
            "EXCEPTION 'crm: % is no CRM user', name USING ERRCODE = '42501'; END IF; "
            "EXECUTE format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE "
            f"NOBYPASSRLS NOREPLICATION IN ROLE %I PASSWORD %L', name, '{roles.group}', "
            "verifier); PERFORM crm_sync_scope(name);"
        ),
        "CREATE OR REPLACE FUNCTION crm_sync_scope(name text) RETURNS void "
        + header.format(
            check
            + member
            + f"IF (SELECT {_scope_sql()} FROM users me WHERE me.username = name) = 'all' THEN "
            f"EXECUTE format('GRANT %I TO %I', '{roles.everyone}', name); "
            f"EXECUTE format('REVOKE %I FROM %I', '{roles.scoped}', name); ELSE "
            f"EXECUTE format('GRANT %I TO %I', '{roles.scoped}', name); "
            f"EXECUTE format('REVOKE %I FROM %I', '{roles.everyone}', name); END IF;"
        ),
        "CREATE OR REPLACE FUNCTION crm_set_password(name text, verifier text) RETURNS void "
        + header.format(
            "IF name <> session_user THEN "
            + check
            + "END IF; "
            + member
            + "EXECUTE format('ALTER ROLE %I PASSWORD %L', name, verifier);"
        ),
        "CREATE OR REPLACE FUNCTION crm_close_login(name text) RETURNS void "
        + header.format(
            check + member + "EXECUTE format('ALTER ROLE %I NOLOGIN', name); "
            "PERFORM pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = name;"
        ),
    ]


_USER_FUNCTIONS = (
    "crm_create_login(text, text), crm_sync_scope(text), crm_set_password(text, text), "
    "crm_close_login(text)"
)
_SCOPE_FUNCTIONS = "crm_scope(), crm_role(), crm_team(), crm_scope_users()"


def _secure(conn: Connection, roles: TeamRoles) -> None:
    """Grants, functions and policies, as the owner role; run after every migration, so a
    new table is granted and a new scoped table gets its policy."""
    group = _quote(conn, roles.group)
    statements = [
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {group}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {group}",
        *(f"REVOKE INSERT, UPDATE, DELETE ON {table} FROM {group}" for table in READ_ONLY),
        *(f"REVOKE UPDATE, DELETE ON {table} FROM {group}" for table in APPEND_ONLY),
        *_functions(roles.owner),
        *_user_functions(roles),
        f"REVOKE ALL ON FUNCTION {_SCOPE_FUNCTIONS}, {_USER_FUNCTIONS} FROM PUBLIC",
        f"GRANT EXECUTE ON FUNCTION {_SCOPE_FUNCTIONS}, {_USER_FUNCTIONS} TO {group}",
    ]
    for table, permissions in GUARDED.items():
        statements += guard(table, permissions)
    statements += audit_scope()
    statements += team_audit.statements(clock.business_zone().key)
    everyone = f"{_quote(conn, roles.everyone)}, {_quote(conn, roles.owner)}"
    for table, rule in POLICIES.items():
        statements += [
            f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
            f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
            *(f"DROP POLICY IF EXISTS {name} ON {table}" for name in _SCOPE_POLICIES),
            f"CREATE POLICY crm_all ON {table} TO {everyone} USING (true) WITH CHECK (true)",
            f"CREATE POLICY crm_scoped ON {table} TO {_quote(conn, roles.scoped)} "
            f"USING ({rule}) WITH CHECK ({rule})",
        ]
    for statement in statements:  # the driver reads % as a placeholder: format()'s are doubled
        conn.exec_driver_sql(statement.replace("%", "%%"))


def _as_owner(conn: Connection, roles: TeamRoles) -> None:
    conn.exec_driver_sql(f"SET LOCAL ROLE {_quote(conn, roles.owner)}")


def password_verifier(conn: Connection, username: str, password: str) -> str:
    """The SCRAM verifier of ``password``, computed here by libpq: the password itself never
    travels in SQL (nor into the server's statement log)."""
    if not password:
        raise ValidationError(FieldError("password", "", "required", t("required")))
    if len(password) > MAX_PASSWORD:
        raise ValidationError(
            FieldError("password", "…", "max_length", t("too_long", limit=MAX_PASSWORD))
        )
    pgconn = conn.connection.dbapi_connection.pgconn  # type: ignore[union-attr]
    verifier = pgconn.encrypt_password(password.encode(), username.encode(), b"scram-sha-256")
    return bytes(verifier).decode()


def create_login(conn: Connection, username: str, password: str) -> None:
    """The LOGIN role of CRM user ``username`` (already in ``users``), a member of the group
    role only; the caller's role must allow managing users."""
    taken = conn.execute(
        text("SELECT count(*) FROM pg_roles WHERE rolname = :name"), {"name": username}
    ).scalar_one()
    if taken:
        raise Conflict(t("team_mode:login_exists", username=username))
    verifier = password_verifier(conn, username, password)
    conn.execute(
        text("SELECT crm_create_login(:name, :verifier)"),
        {"name": username, "verifier": verifier},
    )


def set_password(conn: Connection, username: str, password: str) -> None:
    """A new password for ``username``'s login: their own, or anyone's for a user manager."""
    verifier = password_verifier(conn, username, password)
    conn.execute(
        text("SELECT crm_set_password(:name, :verifier)"),
        {"name": username, "verifier": verifier},
    )


def sync_scope(conn: Connection, username: str) -> None:
    """Put ``username``'s login in the role of their CRM role's scope (every row, or a
    scope), after their role changed."""
    conn.execute(text("SELECT crm_sync_scope(:name)"), {"name": username})


def close_login(conn: Connection, username: str) -> None:
    """Take ``username``'s LOGIN away and end their open sessions (a deactivated user)."""
    conn.execute(text("SELECT crm_close_login(:name)"), {"name": username})


def enable(engine: Engine, admin_name: str, password: str) -> TeamRoles:
    """Make the empty PostgreSQL database of ``engine`` a team database, in one transaction:
    the roles, the schema (owned by the owner role), grants, policies, the record, and the
    first administrator ``admin_name`` as a CRM user and a login with ``password``."""
    if engine.dialect.name != "postgresql":
        raise ConfigError(t("team_mode:needs_postgresql"))
    clean, errors = validate({"username": identifier(63)}, {"username": admin_name})
    if errors:
        raise ValidationError(errors)
    with engine.connect() as conn, conn.begin():
        if inspect(conn).get_table_names():
            raise ConfigError(t("team_mode:not_empty"))
        me = conn.execute(
            text(
                "SELECT current_user, rolsuper, rolcreaterole, current_database() "
                "FROM pg_roles WHERE rolname = current_user"
            )
        ).one()
        if not (me.rolsuper or me.rolcreaterole):
            raise ConfigError(t("team_mode:not_installer", login=me.current_user))
        roles = role_names(me.current_database)
        owner, group = _quote(conn, roles.owner), _quote(conn, roles.group)
        # The owner makes the users' logins (through crm_create_login) and ends the
        # sessions of a deactivated one.
        conn.exec_driver_sql(f"CREATE ROLE {owner} NOLOGIN CREATEROLE")
        conn.exec_driver_sql(f"GRANT pg_signal_backend TO {owner}")
        conn.exec_driver_sql(f"CREATE ROLE {group} NOLOGIN")
        for kind in (roles.everyone, roles.scoped):
            conn.exec_driver_sql(f"CREATE ROLE {_quote(conn, kind)} NOLOGIN")
        if not me.rolsuper:  # the installer acts as the owner role: migrations, repairs
            conn.exec_driver_sql(f"GRANT {owner} TO {_quote(conn, me.current_user)}")
        conn.exec_driver_sql(f"GRANT USAGE, CREATE ON SCHEMA public TO {owner}")
        conn.exec_driver_sql(f"GRANT USAGE ON SCHEMA public TO {group}")
        _as_owner(conn, roles)
        migrate(conn)
        _secure(conn, roles)
        conn.execute(
            insert(TeamMode).values(
                owner_role=roles.owner,
                group_role=roles.group,
                all_role=roles.everyone,
                scoped_role=roles.scoped,
                created_at=clock.now(),
            )
        )
        conn.execute(
            insert(User).values(
                username=clean["username"],
                display_name=t("users:admin_display_name"),
                role="admin",
                active=True,
                created_at=clock.now(),
            )
        )
        create_login(conn, clean["username"], password)
        conn.exec_driver_sql("RESET ROLE")
    return roles


def upgrade(conn: Connection, roles: TeamRoles) -> None:
    """Migrate a team database in the transaction ``conn`` has begun: as the owner role, so
    new tables are its own, then grants and policies again. For installation logins only."""
    if not is_installer(conn, roles):
        login = conn.execute(text("SELECT session_user")).scalar_one()
        raise AccessDenied(t("team_mode:upgrade_needs_installer", login=login))
    _as_owner(conn, roles)
    conn.exec_driver_sql(team_audit.removal().replace("%", "%%"))
    migrate(conn)
    _secure(conn, roles)
    conn.exec_driver_sql("RESET ROLE")
